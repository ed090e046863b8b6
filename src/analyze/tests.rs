//! Behaviour of the whole analysis on hand-picked comments; the labelled evaluation set is in
//! `tests/labelled.rs`.

use std::sync::LazyLock;

use super::*;
use crate::config::Product;

// The rules alone: these cases pin down the rule stages (negation scope, degree, triggers),
// which are the model's features and its guard rails; the combined decision is tested in
// `model::tests` and measured on the corpus (tests/model.rs) and the labelled sets.
static ANALYZER: LazyLock<Analyzer> = LazyLock::new(Analyzer::rules_only);

fn a(text: &str) -> Analysis {
    ANALYZER.analyze(text, RoomCatalog::empty())
}

fn label(text: &str) -> Label {
    a(text).sentiment.label
}

fn intents(text: &str) -> Vec<&'static str> {
    a(text).intents.iter().map(Intent::as_str).collect()
}

#[test]
fn protocol_example() {
    let r = a("2号多少钱呀");
    assert_eq!(r.text, "2号多少钱呀");
    assert_eq!(r.tokens().next(), Some("2号"));
    assert_eq!(r.sentiment.label, Label::Neutral);
    assert_eq!(intents("2号多少钱呀"), ["ask_price"]);
    assert!(r.question);
    assert_eq!(r.product.as_deref(), Some("2"));
    assert_eq!(
        r.key.as_ref().map(ToString::to_string).as_deref(),
        Some("price:2")
    );
    let json = serde_json::to_value(&r).unwrap();
    for field in [
        "text",
        "tokens",
        "sentiment",
        "intents",
        "question",
        "product",
        "key",
    ] {
        assert!(json.get(field).is_some(), "missing {field}: {json}");
    }
    assert_eq!(json["sentiment"]["label"], "neutral");
}

#[test]
fn hard_sentiment_cases() {
    assert_eq!(label("不贵"), Label::Positive);
    assert_eq!(label("不是很好看"), Label::Negative);
    assert_eq!(label("好看是好看就是太贵了"), Label::Negative);
    assert_eq!(label("没有不喜欢的"), Label::Positive);
    assert_eq!(label("贵吗？"), Label::Neutral);
    assert_eq!(label("太好看了"), Label::Positive);
    assert_eq!(label("有点贵"), Label::Negative);
    assert_eq!(label("一点也不好看"), Label::Negative);
}

#[test]
fn negation_scope_stays_in_its_clause() {
    // The negator belongs to the first clause; the praise after the comma is untouched.
    assert_eq!(label("不贵,好看"), Label::Positive);
    assert_eq!(label("不用等,太难看了"), Label::Negative);
}

#[test]
fn degree_scales_but_does_not_flip() {
    let plain = a("好看").sentiment.score;
    let very = a("超好看").sentiment.score;
    let bit = a("有点好看").sentiment.score;
    assert!(
        very > plain && plain > bit && bit > 0.0,
        "{very} {plain} {bit}"
    );
}

#[test]
fn repetition_intensifies() {
    assert!(a("好好好好好看").sentiment.score > a("好看").sentiment.score);
}

#[test]
fn emotes_and_emoji_carry_sentiment() {
    assert_eq!(label("[赞][赞]"), Label::Positive);
    assert_eq!(label("👍👍"), Label::Positive);
    assert_eq!(label("[流泪]"), Label::Negative);
    assert!(a("[赞]").tokens().any(|t| t == "[赞]"));
}

#[test]
fn questions_without_question_marks() {
    assert!(a("2号多少钱").question);
    assert!(a("几号发货").question);
    assert!(a("有货不").question);
    assert!(a("有没有黑色").question);
    assert!(a("能便宜点不").question);
    assert!(!a("上链接").question);
    assert!(!a("怎么这么好看").question);
    assert!(!a("好看").question);
}

#[test]
fn intents_of_typical_comments() {
    assert_eq!(intents("上链接"), ["ask_link"]);
    assert_eq!(intents("已拍"), ["purchase"]);
    assert_eq!(intents("111"), ["purchase"]);
    assert!(intents("160 100斤穿什么码").contains(&"ask_size"));
    assert!(intents("几号发货").contains(&"ask_shipping"));
    assert!(intents("是正品吗").contains(&"ask_quality"));
    assert!(intents("物流太慢了").contains(&"complaint"));
    assert_eq!(intents("主播晚上好"), ["chatter"]);
    assert_eq!(intents("加v abc12345 领福利"), ["spam"]);
    assert_eq!(intents("好看"), ["praise"]);
}

#[test]
fn spam_text_is_masked() {
    let r = a("加微信 13800138000 有惊喜");
    assert!(!r.text.contains("13800138000"), "{}", r.text);
    assert!(r.masked);
    assert!(r.intents.contains(Intent::Spam));
}

#[test]
fn product_linking_with_catalog() {
    let products = vec![
        Product {
            id: "1".into(),
            name: "白鸭绒羽绒服".into(),
            aliases: vec!["羽绒服".into()],
            ..Product::default()
        },
        Product {
            id: "2".into(),
            name: "羊毛开衫".into(),
            aliases: vec!["开衫".into()],
            ..Product::default()
        },
    ];
    let room = RoomCatalog::new(&products, &[]).unwrap();
    let r = ANALYZER.analyze("羽绒服有黑色吗", &room);
    assert_eq!(r.product.as_deref(), Some("1"));
    assert!(r.tokens().any(|t| t == "羽绒服"));
    assert_eq!(r.key.map(|k| k.to_string()).as_deref(), Some("spec:1"));
    let r = ANALYZER.analyze("二号多少钱", &room);
    assert_eq!(r.product.as_deref(), Some("2"));
    let r = ANALYZER.analyze("5号多少钱", &room);
    assert_eq!(r.product, None);
    assert_eq!(r.key.map(|k| k.to_string()).as_deref(), Some("price:_"));
}

#[test]
fn long_input_is_bounded() {
    let long = "好看".repeat(20_000);
    let r = a(&long);
    assert!(r.truncated);
    assert!(r.text.chars().count() <= MAX_CHARS);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_and_stays_bounded(s in any::<String>()) {
            let r = a(&s);
            prop_assert!(r.text.chars().count() <= MAX_CHARS);
            prop_assert!((-1.0..=1.0).contains(&r.sentiment.score));
            prop_assert!(!r.intents.is_empty());
            for t in r.tokens() {
                prop_assert!(!t.is_empty());
            }
        }

        #[test]
        fn live_room_alphabet(s in "[0-9一二三号#no. 链接第个吗？?!！好看贵不没太超有点但是就哈😭👍\\[\\]赞微信vx@a-z\u{200b}]{0,60}") {
            let r = a(&s);
            prop_assert!((-1.0..=1.0).contains(&r.sentiment.score));
            let json = serde_json::to_string(&r).unwrap();
            prop_assert!(json.starts_with('{'), "{}", json);
        }
    }
}

#[test]
fn stages_stop_where_they_say() {
    let catalog = RoomCatalog::empty();
    for text in [
        "２号太長了吗？？？",
        "别买了 加v12345678",
        "#3有黑色吗[赞]",
        "",
    ] {
        let full = ANALYZER.analyze(text, catalog);
        assert_eq!(ANALYZER.analyze_until(text, catalog, Stage::Full), full);
        let normalized = ANALYZER.analyze_until(text, catalog, Stage::Normalize);
        assert_eq!(normalized.tokens().len(), 0);
        assert!(normalized.intents.is_empty());
        let segmented = ANALYZER.analyze_until(text, catalog, Stage::Segment);
        assert_eq!(segmented.text, normalized.text);
        assert_eq!(
            segmented.tokens().collect::<String>(),
            segmented.text.replace(' ', "")
        );
        let prepared = ANALYZER.analyze_until(text, catalog, Stage::Prepare);
        assert_eq!(prepared.text, full.text);
        assert!(prepared.tokens().eq(full.tokens()));
    }
}

#[test]
fn negated_purchases_and_excess() {
    assert_eq!(intents("别买了"), ["complaint"]);
    assert_eq!(label("不想买了"), Label::Negative);
    assert!(!intents("不要了").contains(&"purchase"));
    assert_eq!(intents("不得不买了")[0], "purchase");
    assert_eq!(intents("没有链接吗"), ["ask_link"]);
    assert_eq!(intents("不用上链接了"), ["chatter"]);
    assert_eq!(intents("多少钱一斤"), ["ask_price"]);
    assert_eq!(label("太长了"), Label::Negative);
    assert_eq!(label("有点松"), Label::Negative);
    assert_eq!(label("味道太冲"), Label::Negative);
    assert_eq!(label("很大"), Label::Neutral);
    assert_eq!(label("冲冲冲"), Label::Positive);
    assert_eq!(label("我才不会买这种智商税"), Label::Negative);
    assert!(!intents("性价比太高了").contains(&"compare"));
}

#[test]
fn measure_questions_without_a_question_mark() {
    for text in ["我120斤穿多大", "多大码", "杯子多沉", "发货要多久"] {
        assert!(a(text).question, "{text}");
    }
    assert_eq!(intents("杯子多沉"), ["ask_spec"]);
    assert_eq!(intents("我120斤穿多大"), ["ask_size"]);
}

#[test]
fn insisting_negations_do_not_ask() {
    assert!(!a("一点效果都没有").question);
    assert!(!a("一个也不剩").question);
    assert!(a("有货没有").question);
    assert_eq!(label("完全没效果"), Label::Negative);
    assert_eq!(label("发的什么玩意"), Label::Negative);
    assert!(!a("发的什么玩意").question);
}
