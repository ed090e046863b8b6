//! What a question or a complaint is about: the one list of topics.
//!
//! A question's topic is the first half of its key (`price:2`), the FAQ key of a script
//! library, a column of the per-product demand windows and of the review's CSV; a complaint's
//! topic picks the calming script. Every list of topics in the crate is derived from
//! [`Topic`], so two lists can never disagree.

use std::fmt;

use serde::{Serialize, Serializer};

/// A topic. The wire name is [`Topic::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Price,
    Discount,
    Size,
    Spec,
    Stock,
    Shipping,
    Link,
    Quality,
    Usage,
    Aftersale,
    Demo,
    Compare,
    /// Complaints about the service (no question asks it).
    Service,
    /// A complaint about nothing in particular; the fallback FAQ or calming script.
    General,
}

impl Topic {
    /// The topics a question can have, in the order windows, profiles and the review's
    /// columns index them (the order of their intents). Stored data depends on it: append only.
    pub const QUESTIONS: [Topic; 12] = [
        Topic::Price,
        Topic::Discount,
        Topic::Size,
        Topic::Spec,
        Topic::Stock,
        Topic::Shipping,
        Topic::Link,
        Topic::Quality,
        Topic::Usage,
        Topic::Aftersale,
        Topic::Demo,
        Topic::Compare,
    ];

    /// The topics a complaint can be about besides [`Topic::General`] (the keys of a room's
    /// calming scripts, and of `complaint_topics.tsv`).
    pub const COMPLAINTS: [Topic; 5] = [
        Topic::Shipping,
        Topic::Quality,
        Topic::Price,
        Topic::Aftersale,
        Topic::Service,
    ];

    /// The topics a FAQ answer or a selling point may be keyed by: every question topic,
    /// then `general` and `service`.
    pub const SCRIPTS: [Topic; 14] = {
        let mut all = [Topic::General; 14];
        let mut i = 0;
        while i < Topic::QUESTIONS.len() {
            all[i] = Topic::QUESTIONS[i];
            i += 1;
        }
        all[13] = Topic::Service;
        all
    };

    /// The wire name (`price`, `demo`, `general` …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Topic::Price => "price",
            Topic::Discount => "discount",
            Topic::Size => "size",
            Topic::Spec => "spec",
            Topic::Stock => "stock",
            Topic::Shipping => "shipping",
            Topic::Link => "link",
            Topic::Quality => "quality",
            Topic::Usage => "usage",
            Topic::Aftersale => "aftersale",
            Topic::Demo => "demo",
            Topic::Compare => "compare",
            Topic::Service => "service",
            Topic::General => "general",
        }
    }

    /// The topic with this wire name.
    pub fn parse(name: &str) -> Option<Topic> {
        Topic::SCRIPTS.into_iter().find(|t| t.as_str() == name)
    }

    /// The Chinese name shown in cue texts and the review (`general` has none of its own:
    /// callers say what fits their sentence).
    pub const fn name(self) -> &'static str {
        match self {
            Topic::Price => "价格",
            Topic::Discount => "优惠",
            Topic::Size => "尺码",
            Topic::Spec => "规格",
            Topic::Stock => "库存",
            Topic::Shipping => "发货",
            Topic::Link => "链接",
            Topic::Quality => "质量",
            Topic::Usage => "用法",
            Topic::Aftersale => "售后",
            Topic::Demo => "试穿/展示",
            Topic::Compare => "对比",
            Topic::Service => "服务",
            Topic::General => "问题",
        }
    }

    /// Its place in [`Topic::QUESTIONS`], for a question topic.
    pub fn question_index(self) -> Option<usize> {
        Topic::QUESTIONS.iter().position(|t| *t == self)
    }

    /// The question topic with this wire name and its index in [`Topic::QUESTIONS`].
    pub fn question(name: &str) -> Option<(Topic, usize)> {
        let topic = Topic::parse(name)?;
        Some((topic, topic.question_index()?))
    }

    /// Wire names joined with ", " (for error messages).
    pub fn list(topics: &[Topic]) -> String {
        topics
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Intent;

    #[test]
    fn question_topics_are_the_intents_topics_in_order() {
        let from_intents: Vec<Topic> = Intent::ALL.iter().filter_map(|i| i.topic()).collect();
        assert_eq!(from_intents, Topic::QUESTIONS);
        for (i, t) in Topic::QUESTIONS.iter().enumerate() {
            assert_eq!(t.question_index(), Some(i));
            assert_eq!(Topic::question(t.as_str()), Some((*t, i)));
        }
    }

    #[test]
    fn every_list_is_drawn_from_the_scripts_list() {
        for t in Topic::QUESTIONS.iter().chain(&Topic::COMPLAINTS) {
            assert!(Topic::SCRIPTS.contains(t), "{t}");
        }
        for t in Topic::SCRIPTS {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        assert_eq!(Topic::parse("nope"), None);
        assert_eq!(Topic::question("service"), None);
    }
}
