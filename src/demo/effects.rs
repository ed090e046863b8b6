//! The demo's ground truth for the closed loop: how much a script variant lifts buying in the
//! demo audience, by the audience context the variant was chosen in (the leading segment).
//! LiveCue never reads this table; the demo feed uses it to make the audience respond
//! ([`super::Audience::respond`]), so the console can show the bandit finding the variant that
//! truly works best for each audience.

/// (context, tone, lift). Tone `""` is a script's default text. Anything not listed: [`BASE_LIFT`].
const LIFTS: &[(&str, &str, f64)] = &[
    ("价格敏感", "优惠先行", 1.6),
    ("价格敏感", "紧迫促单", 0.8),
    ("价格敏感", "老粉福利", 0.6),
    ("品质关注", "材质细节", 1.4),
    ("品质关注", "简洁专业", 0.9),
    ("新客", "亲切活泼", 1.2),
    ("新客", "优惠先行", 0.7),
    ("老粉", "老粉福利", 1.4),
    ("老粉", "亲切活泼", 0.6),
    ("高意向", "紧迫促单", 1.3),
    ("高意向", "优惠先行", 1.0),
];

/// The lift of a variant nobody in the table responds to especially.
pub const BASE_LIFT: f64 = 0.3;

/// How much a variant (`tone`, `""` for the default text) chosen for `context` lifts buying.
pub fn variant_lift(context: &str, tone: &str) -> f64 {
    LIFTS
        .iter()
        .find(|(c, t, _)| *c == context && *t == tone)
        .map_or(BASE_LIFT, |(_, _, lift)| *lift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_context_has_a_best_variant_above_the_default() {
        for context in ["价格敏感", "品质关注", "新客", "老粉", "高意向"] {
            let best = LIFTS
                .iter()
                .filter(|(c, _, _)| *c == context)
                .map(|(_, _, l)| *l)
                .fold(0.0, f64::max);
            assert!(best > variant_lift(context, ""), "{context}");
        }
        assert_eq!(variant_lift("全体", "优惠先行"), BASE_LIFT);
    }
}
