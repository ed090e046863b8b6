use super::*;
use crate::analyze::{Analyzer, RoomCatalog};

fn tiny() -> Model {
    let bits = 8;
    let rows = (1 << bits) + features::SIGNALS;
    let weights: Vec<i8> = (0..rows * OUTPUTS).map(|i| (i % 251) as i8).collect();
    let mut model = Model::from_parts(bits, weights, [0.01; OUTPUTS]);
    model.set_decision([0.4; INTENTS + 1], IntentSet::from_iter([Intent::AskPrice]));
    model
}

#[test]
fn the_format_round_trips_and_damage_is_caught() {
    let model = tiny();
    let bytes = model.to_bytes();
    let back = Model::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.guards(), model.guards());
    let mut damaged = bytes.clone();
    damaged[100] ^= 1;
    assert!(matches!(
        Model::from_bytes(&damaged),
        Err(ModelError::Checksum)
    ));
    assert!(matches!(
        Model::from_bytes(&bytes[..bytes.len() - 1]),
        Err(ModelError::Size(_))
    ));
    assert!(Model::from_bytes(b"not a model at all, really not one ok").is_err());
}

#[test]
fn embedded_model_loads() {
    let model = Model::embedded()
        .expect("models/analysis.bin is committed (run `livecue train`)")
        .unwrap();
    assert!(model.bits() >= 12);
    let analyzer = Analyzer::embedded();
    assert!(analyzer.model().is_some());
    let a = analyzer.analyze("2号多少钱", &RoomCatalog::default());
    assert!(a.intents.contains(Intent::AskPrice), "{a:?}");
    assert!(a.question);
}

#[test]
fn probabilities_are_probabilities() {
    let model = tiny();
    let analyzer = Analyzer::rules_only();
    let rules = analyzer.analyze_rules("这个多少钱啊？", &RoomCatalog::default());
    let p = model.probs(&rules);
    assert!(p.intents.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!((p.sentiment.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    let e = model.explain(&rules);
    assert_eq!(e.labels.len(), OUTPUTS);
    assert!(e.labels.iter().all(|l| l.features.len() <= explain::TOP));
}

#[test]
fn the_combined_decision_keeps_what_the_rules_do_exactly() {
    let analyzer = Analyzer::embedded();
    let empty = RoomCatalog::default();
    let a = |t: &str| analyzer.analyze(t, &empty);
    // Contact spam stays spam, masked.
    let spam = a("加微信 13800138000 有惊喜");
    assert_eq!(spam.intents, IntentSet::from_iter([Intent::Spam]));
    assert!(spam.masked && !spam.text.contains("13800138000"));
    // Product numbers are the rules'.
    assert_eq!(a("二号多少钱").product.as_deref(), Some("2"));
    assert_eq!(a("2号多少钱").key.unwrap().to_string(), "price:2");
    // Typical comments.
    assert_eq!(a("上链接").intents, IntentSet::from_iter([Intent::AskLink]));
    assert!(a("已拍").intents.contains(Intent::Purchase));
    assert!(a("别买了").intents.contains(Intent::Complaint));
    assert_eq!(
        a("主播晚上好").intents,
        IntentSet::from_iter([Intent::Chatter])
    );
    for text in ["好看", "太长了", "2号多少钱", "哈哈哈哈"] {
        let s = a(text).sentiment;
        assert!((-1.0..=1.0).contains(&s.score));
        assert_eq!(s.label, crate::analyze::sentiment::label(s.score));
    }
    // Chatter never goes with another intent.
    for text in ["好看", "这歌叫什么", "想听的扣1", "2号有货吗"] {
        let i = a(text).intents;
        assert!(
            !i.contains(Intent::Chatter) || i.len() == 1,
            "{text}: {i:?}"
        );
    }
}
