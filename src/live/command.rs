//! The console's commands, interpreted by the room's task: set the pitched product, reorder
//! the queue, act on cues and questions, edit the script library, forget a viewer. Each is
//! checked before anything changes, applied, recorded as an action and published.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::task::RoomTask;
use super::{CommandError, json, records};
use crate::catalog::check_topic;
use crate::clock::now_ms;
use crate::privacy::Pseudonym;
use crate::room::ActedBy;
use crate::store::Record;
use crate::suggest::{CueKind, CueState};
use crate::wire::{Command, RoomMessage};

impl RoomTask {
    fn product_id(&self, id: &str) -> Result<Arc<str>, CommandError> {
        self.state
            .catalog
            .id(id)
            .cloned()
            .ok_or_else(|| CommandError::UnknownProduct(id.into()))
    }

    pub(super) fn command(&mut self, command: Command) -> Result<(), CommandError> {
        let now = now_ms();
        let action = self.session().map(|s| records::action(&s, now, &command));
        let result = self.apply_command(command, now);
        if result.is_ok()
            && let Some(action) = action
        {
            self.record(vec![action]);
        }
        result
    }

    fn apply_command(&mut self, command: Command, now: i64) -> Result<(), CommandError> {
        match command {
            Command::SetPitching { product } => {
                let product = product.map(|p| self.product_id(&p)).transpose()?;
                self.state.pitch.set(product.clone(), now);
                self.publish(|seq| {
                    json(&RoomMessage::Pitching {
                        seq,
                        product,
                        since: now,
                    })
                });
            }
            Command::Reorder { order } => {
                let mut seen = FxHashSet::default();
                let mut queue = Vec::with_capacity(self.state.queue.len());
                for id in &order {
                    let id = self.product_id(id)?;
                    if !seen.insert(id.clone()) {
                        return Err(CommandError::Invalid(format!(
                            "product {id} is listed twice"
                        )));
                    }
                    queue.push(id);
                }
                // Products the operator left out keep their relative order, after the others.
                for id in &self.state.queue {
                    if !seen.contains(id) {
                        queue.push(id.clone());
                    }
                }
                self.state.queue = queue;
                let order = self.state.queue.clone();
                self.publish(|seq| json(&RoomMessage::Queue { seq, order: &order }));
            }
            Command::AckCue { id } => self.set_cue(&id, CueState::Acked, now)?,
            Command::DismissCue { id } => self.set_cue(&id, CueState::Dismissed, now)?,
            Command::PinCue { id } => self.set_cue(&id, CueState::Pinned, now)?,
            Command::MarkAnswered { key } => {
                if !self.state.clusters.mark_answered(&key, now) {
                    return Err(CommandError::UnknownQuestion(key));
                }
                self.publish(|seq| {
                    json(&RoomMessage::Question {
                        seq,
                        key: &key,
                        answered: true,
                    })
                });
            }
            Command::SetFaq {
                product,
                topic,
                text,
            } => {
                check_topic(&topic).map_err(CommandError::Invalid)?;
                check_text(&text)?;
                let index = self.index(&product)?;
                let faq = &mut self.state.products[index].faq;
                if text.trim().is_empty() {
                    faq.remove(&topic);
                } else {
                    faq.insert(topic, text.trim().to_owned());
                }
                self.publish_script(index);
            }
            Command::SetPoints { product, points } => {
                if points.len() > 50 {
                    return Err(CommandError::Invalid("at most 50 selling points".into()));
                }
                for p in &points {
                    if !p.topic.is_empty() {
                        check_topic(&p.topic).map_err(CommandError::Invalid)?;
                    }
                    check_text(&p.text)?;
                    for v in &p.variants {
                        check_text(&v.text)?;
                    }
                }
                let index = self.index(&product)?;
                self.state.products[index].points = points;
                self.publish_script(index);
            }
            Command::Forget { viewer } => {
                let id = Pseudonym::parse(&viewer).ok_or_else(|| {
                    CommandError::Invalid(format!(
                        "viewer {viewer:?} is not a pseudonym (16 hex digits, as in the console)"
                    ))
                })?;
                self.state.forget(id);
                let viewer = id.to_string();
                self.publish(|seq| {
                    json(&RoomMessage::Forgotten {
                        seq,
                        viewer: &viewer,
                    })
                });
            }
        }
        Ok(())
    }

    fn index(&self, product: &str) -> Result<usize, CommandError> {
        self.state
            .product_index(product)
            .ok_or_else(|| CommandError::UnknownProduct(product.into()))
    }

    fn publish_script(&mut self, index: usize) {
        let seq = self.next_seq();
        let body = json(&RoomMessage::Script {
            seq,
            product: &self.state.products[index],
        });
        self.push.publish(seq, body);
    }

    fn set_cue(&mut self, id: &str, state: CueState, now: i64) -> Result<(), CommandError> {
        let cue = self
            .state
            .cue_mut(id)
            .ok_or_else(|| CommandError::UnknownCue(id.into()))?;
        cue.state = state;
        if let Some(session) = self.store.as_ref().map(|s| s.session.clone()) {
            self.record(vec![Record::CueState {
                session,
                id: id.into(),
                state: state.as_str(),
                at: now,
            }]);
        }
        if state == CueState::Acked {
            self.state.expose(id, ActedBy::Ack, now);
        }
        let Some(cue) = self.state.cue_mut(id) else {
            return Err(CommandError::UnknownCue(id.into()));
        };
        let answered = (state == CueState::Acked && cue.kind == CueKind::AnswerQuestion)
            .then(|| cue.evidence.key.clone())
            .flatten();
        self.publish(|seq| json(&RoomMessage::CueUpdate { seq, id, state }));
        if let Some(key) = answered
            && self.state.clusters.mark_answered(&key, now)
        {
            self.publish(|seq| {
                json(&RoomMessage::Question {
                    seq,
                    key: &key,
                    answered: true,
                })
            });
        }
        Ok(())
    }
}

fn check_text(text: &str) -> Result<(), CommandError> {
    if text.chars().count() > 500 {
        Err(CommandError::Invalid(
            "a script text is at most 500 characters".into(),
        ))
    } else {
        Ok(())
    }
}
