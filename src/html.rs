//! HTML escaping, the crate's one: for the server's pages and the review's HTML report.

use std::borrow::Cow;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("2号<b>"), "2号&lt;b&gt;");
        assert_eq!(esc("a&\"'"), "a&amp;&quot;&#39;");
        assert!(matches!(esc("普通弹幕"), Cow::Borrowed(_)));
    }
}
