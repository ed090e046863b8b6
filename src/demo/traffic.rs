//! What the demo audience says: `demo/traffic.toml` parsed and checked, and comments rendered
//! from its templates.
//!
//! [`Traffic::parse`] refuses data the audience could not draw from (empty lists, unknown
//! placeholders, negative weights) and works out once what the audience needs per category:
//! whether it is a question, how much a surge boosts it, which templates name the product.
//! [`Traffic::render`] fills a template's placeholders for one [`DemoProduct`]. When to say what
//! is the audience's business (`super::audience`).

use rand::Rng;
use serde::Deserialize;

use super::{DemoError, MAX_TEXT_CHARS};
use crate::config::Product;

/// Placeholders that name the product.
const PRODUCT_PLACEHOLDERS: [&str; 3] = ["n", "alias", "cn"];
/// Every placeholder a template may use.
const PLACEHOLDERS: [&str; 5] = ["n", "alias", "cn", "size", "color"];
const CHINESE_NUMBERS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
/// Words that make a complaint template about shipping, then about quality.
const SHIPPING_WORDS: [&str; 5] = ["发货", "物流", "快递", "还没发", "发"];
const QUALITY_WORDS: [&str; 9] = [
    "假货",
    "质量",
    "起球",
    "掉色",
    "线头",
    "味道",
    "漏水",
    "开线",
    "不一样",
];

/// `traffic.toml`, checked; the fields after `categories` are worked out by [`Traffic::parse`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Traffic {
    pub colors: Vec<String>,
    pub sizes: Vec<String>,
    pub names: Vec<String>,
    pub gifts: Vec<Gift>,
    pub categories: Vec<Category>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Gift {
    pub name: String,
    /// Yuan per gift.
    pub value: f64,
}

/// A category of comments: its templates as written, plus what the audience needs to know about
/// it beyond the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Category {
    pub name: String,
    /// Relative frequency in normal traffic (non-negative).
    pub weight: f64,
    /// The simulator picks a product for these comments.
    pub product: bool,
    /// Never empty.
    pub templates: Vec<String>,
    /// An `ask_*`, `request_demo` or `compare` category: follows the hot product.
    #[serde(skip)]
    pub question: bool,
    /// Weight multiplier during a surge.
    #[serde(skip)]
    pub surge_boost: f64,
    /// Templates that name the product (`{n}`, `{alias}`, `{cn}`): a viewer asking about a
    /// product that is not on screen has to say which one.
    #[serde(skip)]
    pub named: Vec<usize>,
}

/// Complaint topics of a wave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Theme {
    Shipping,
    Quality,
}

/// A catalog product as the audience talks about it.
#[derive(Debug)]
pub(super) struct DemoProduct {
    pub id: String,
    /// The number in Chinese (一 … 十), or the id when it is not 1-10.
    pub cn: String,
    /// Aliases, or the name when there are none; never empty.
    pub aliases: Vec<String>,
    /// Price in yuan, when known and sane.
    pub price: Option<f64>,
}

impl DemoProduct {
    pub fn from_catalog(p: &Product) -> DemoProduct {
        DemoProduct {
            id: p.id.clone(),
            cn: match p.id.parse::<usize>() {
                Ok(n @ 1..=10) => CHINESE_NUMBERS[n - 1].to_string(),
                _ => p.id.clone(),
            },
            aliases: if p.aliases.is_empty() {
                vec![p.name.clone()]
            } else {
                p.aliases.clone()
            },
            price: p.price.filter(|x| x.is_finite() && *x >= 0.0),
        }
    }
}

impl Traffic {
    /// Parses and checks `traffic_toml` (the format of `demo/traffic.toml`).
    pub fn parse(traffic_toml: &str) -> Result<Traffic, DemoError> {
        let mut traffic: Traffic =
            toml::from_str(traffic_toml).map_err(|e| DemoError::Traffic(e.to_string()))?;
        for (list, what) in [
            (traffic.colors.is_empty(), "colors"),
            (traffic.sizes.is_empty(), "sizes"),
            (traffic.names.is_empty(), "names"),
            (traffic.gifts.is_empty(), "gifts"),
            (traffic.categories.is_empty(), "categories"),
        ] {
            if list {
                return Err(DemoError::Empty(what));
            }
        }
        if traffic
            .gifts
            .iter()
            .any(|g| !g.value.is_finite() || g.value < 0.0)
        {
            return Err(DemoError::Traffic(
                "gift values must be non-negative numbers".into(),
            ));
        }
        for cat in &mut traffic.categories {
            cat.check()?;
        }
        if traffic.categories.iter().all(|c| c.weight <= 0.0) {
            return Err(DemoError::Empty("category with a positive weight"));
        }
        Ok(traffic)
    }

    /// The index of the category called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.name == name)
    }

    /// The templates of category `complaint` by wave theme ([`Theme`] as index), recognized by
    /// their words; never empty.
    pub fn wave_templates(&self, complaint: usize) -> [Vec<usize>; 2] {
        let templates = &self.categories[complaint].templates;
        let mut by_theme = [Vec::new(), Vec::new()];
        for (i, t) in templates.iter().enumerate() {
            if SHIPPING_WORDS.iter().any(|m| t.contains(m)) {
                by_theme[Theme::Shipping as usize].push(i);
            } else if QUALITY_WORDS.iter().any(|m| t.contains(m)) {
                by_theme[Theme::Quality as usize].push(i);
            }
        }
        // Edited data without recognizable themes: any complaint will do.
        for list in &mut by_theme {
            if list.is_empty() {
                list.extend(0..templates.len());
            }
        }
        by_theme
    }

    /// The categories a question cluster is drawn from, with weights: size questions most.
    pub fn cluster_categories(&self) -> Vec<(usize, f64)> {
        [
            ("ask_size", 4.0),
            ("ask_price", 1.0),
            ("ask_link", 1.0),
            ("ask_stock", 1.0),
            ("ask_spec", 1.0),
            ("ask_shipping", 1.0),
        ]
        .iter()
        .filter_map(|&(name, w)| self.find(name).map(|i| (i, w)))
        .collect()
    }

    /// Template `template` of `category` with its placeholders filled for `product` (placeholders
    /// were checked by [`Traffic::parse`]), cut to [`MAX_TEXT_CHARS`].
    pub fn render(
        &self,
        category: usize,
        template: usize,
        product: Option<&DemoProduct>,
        rng: &mut impl Rng,
    ) -> String {
        let template = &self.categories[category].templates[template];
        let mut text = String::with_capacity(template.len() + 16);
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            text.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                text.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let value: &str = match (&after[..close], product) {
                ("n", Some(p)) => &p.id,
                ("cn", Some(p)) => &p.cn,
                ("alias", Some(p)) => &p.aliases[rng.random_range(0..p.aliases.len())],
                ("size", _) => &self.sizes[rng.random_range(0..self.sizes.len())],
                ("color", _) => &self.colors[rng.random_range(0..self.colors.len())],
                _ => "",
            };
            text.push_str(value);
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
            text.truncate(cut);
        }
        text
    }
}

impl Category {
    /// Checks the category and works out what the file does not say.
    fn check(&mut self) -> Result<(), DemoError> {
        if self.templates.is_empty() {
            return Err(DemoError::Empty("templates in a category"));
        }
        if !self.weight.is_finite() || self.weight < 0.0 {
            return Err(DemoError::Traffic(format!(
                "category {:?}: weight must be a non-negative number",
                self.name
            )));
        }
        self.named.clear();
        for (i, template) in self.templates.iter().enumerate() {
            let mut names_product = false;
            for placeholder in placeholders(template) {
                if !PLACEHOLDERS.contains(&placeholder) {
                    return Err(DemoError::Placeholder {
                        category: self.name.clone(),
                        template: template.clone(),
                        placeholder: placeholder.to_string(),
                    });
                }
                names_product |= PRODUCT_PLACEHOLDERS.contains(&placeholder);
            }
            if names_product {
                if !self.product {
                    return Err(DemoError::ProductInNonProductCategory {
                        category: self.name.clone(),
                        template: template.clone(),
                    });
                }
                self.named.push(i);
            }
        }
        let name = self.name.as_str();
        self.question = name.starts_with("ask_") || name == "request_demo" || name == "compare";
        self.surge_boost = match name {
            "purchase" | "ask_link" => 5.0,
            "ask_price" | "ask_stock" | "ask_discount" => 2.0,
            _ => 1.0,
        };
        Ok(())
    }
}

/// The placeholder names (`n` for `{n}`) of a template.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    let mut rest = template;
    std::iter::from_fn(move || {
        let open = rest.find('{')?;
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        rest = &after[close + 1..];
        Some(&after[..close])
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    const BASE: &str = "colors=['a']\nsizes=['b']\nnames=['c']\ngifts=[{name='g',value=1.0}]\n";

    fn category(product: bool, template: &str) -> String {
        format!(
            "{BASE}[[categories]]\nname='x'\nweight=1\nproduct={product}\ntemplates=['{template}']\n"
        )
    }

    #[test]
    fn bad_traffic_data_is_refused() {
        assert!(matches!(
            Traffic::parse(&category(true, "{n}号{price}")),
            Err(DemoError::Placeholder { .. })
        ));
        assert!(matches!(
            Traffic::parse(&category(false, "{n}号")),
            Err(DemoError::ProductInNonProductCategory { .. })
        ));
        assert!(matches!(
            Traffic::parse("colors=[]"),
            Err(DemoError::Traffic(_))
        ));
        assert!(matches!(
            Traffic::parse(&format!("{BASE}categories=[]")),
            Err(DemoError::Empty("categories"))
        ));
        assert!(matches!(
            Traffic::parse(&category(true, "{n}号").replace("weight=1", "weight=-1")),
            Err(DemoError::Traffic(_))
        ));
    }

    #[test]
    fn renders_every_placeholder() {
        let traffic = Traffic::parse(&category(true, "{cn}号{alias}{n}#{size}/{color}{")).unwrap();
        assert!(!traffic.categories[0].question && traffic.categories[0].named == [0]);
        let product = DemoProduct::from_catalog(&Product {
            id: "2".into(),
            name: "开衫".into(),
            aliases: Vec::new(),
            price: None,
            ..Default::default()
        });
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(
            traffic.render(0, 0, Some(&product), &mut rng),
            "二号开衫2#b/a{"
        );
        let long = Traffic::parse(&category(true, &"长".repeat(MAX_TEXT_CHARS + 5))).unwrap();
        let text = long.render(0, 0, None, &mut rng);
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
    }
}
