//! The labelled corpus (`corpus/`, see corpus/GUIDE.md): rows, catalogs, duplicates, the
//! near-duplicate skeleton and the split it decides.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::analyze::model::fnv1a;
use crate::analyze::{Intent, IntentSet, Label, RoomCatalog};
use crate::config::Config;

/// Why the corpus could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Row {
        path: String,
        line: usize,
        message: String,
    },
    #[error("catalog {path}: {message}")]
    Catalog { path: String, message: String },
    #[error("{0} holds no rows")]
    Empty(String),
}

/// One labelled comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kind: String,
    pub platform: String,
    pub text: String,
    pub sentiment: Label,
    pub intents: IntentSet,
    pub question: bool,
    pub product: Option<String>,
    /// `file:line`, for messages.
    pub origin: String,
    /// Training weight (1 for the corpus, more for operators' corrections).
    pub weight: f32,
}

/// Where a row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    Train,
    Dev,
    Test,
}

impl Split {
    /// The split of a skeleton: a fixed hash (FNV-1a 64) of it, so near-variants land
    /// together and the split never depends on the seed, the order or the other rows.
    pub fn of(skeleton: &str) -> Split {
        match fnv1a(skeleton.as_bytes()) % 100 {
            0..60 => Split::Train,
            60..80 => Split::Dev,
            _ => Split::Test,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

const PLATFORMS: &[&str] = &["douyin", "kuaishou", "taobao", "bilibili"];

/// The catalogs of `dir/catalogs/*.toml`, compiled, by kind; with each kind's product ids.
pub fn load_catalogs(
    dir: &Path,
) -> Result<BTreeMap<String, (RoomCatalog, Vec<String>)>, CorpusError> {
    let cat_dir = dir.join("catalogs");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&cat_dir)
        .map_err(|source| CorpusError::Read {
            path: cat_dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut out = BTreeMap::new();
    for path in paths {
        let shown = path.display().to_string();
        let bad = |message: String| CorpusError::Catalog {
            path: shown.clone(),
            message,
        };
        let config = Config::from_file(&path).map_err(|e| bad(e.to_string()))?;
        let kind = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let room = config
            .room(&kind)
            .ok_or_else(|| bad(format!("no [[rooms]] with id = {kind:?}")))?;
        let catalog =
            RoomCatalog::new(&room.products, &room.words).map_err(|e| bad(e.to_string()))?;
        let ids = room.products.iter().map(|p| p.id.clone()).collect();
        out.insert(kind, (catalog, ids));
    }
    Ok(out)
}

/// Parses one TSV file of rows (7 columns, `#` comment lines), checking every field.
pub fn parse_rows(
    path: &str,
    text: &str,
    catalogs: &BTreeMap<String, (RoomCatalog, Vec<String>)>,
    weight: f32,
) -> Result<Vec<Row>, CorpusError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| CorpusError::Row {
            path: path.to_owned(),
            line: line_no,
            message,
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [kind, platform, text, sentiment, intents, question, product] = cols[..] else {
            return Err(err(format!(
                "expected 7 TAB-separated columns, found {}",
                cols.len()
            )));
        };
        let (_, ids) = catalogs
            .get(kind)
            .ok_or_else(|| err(format!("room kind {kind:?} has no catalog in catalogs/")))?;
        if !PLATFORMS.contains(&platform) {
            return Err(err(format!("unknown platform {platform:?}")));
        }
        if text.trim().is_empty() {
            return Err(err("empty text".into()));
        }
        let sentiment = match sentiment {
            "positive" => Label::Positive,
            "negative" => Label::Negative,
            "neutral" => Label::Neutral,
            other => {
                return Err(err(format!(
                    "sentiment {other:?} is not positive/negative/neutral"
                )));
            }
        };
        let mut set = IntentSet::default();
        for label in intents.split(',') {
            let intent =
                Intent::parse(label).ok_or_else(|| err(format!("unknown intent {label:?}")))?;
            set.insert(intent);
        }
        if set.contains(Intent::Chatter) && set.len() > 1 {
            return Err(err("chatter cannot go with another intent".into()));
        }
        let question = match question {
            "1" => true,
            "0" => false,
            other => return Err(err(format!("question {other:?} is not 0 or 1"))),
        };
        let product = match product {
            "-" => None,
            id if ids.iter().any(|p| p == id) => Some(id.to_owned()),
            id => return Err(err(format!("product {id:?} is not in the {kind} catalog"))),
        };
        rows.push(Row {
            kind: kind.to_owned(),
            platform: platform.to_owned(),
            text: text.to_owned(),
            sentiment,
            intents: set,
            question,
            product,
            origin: format!("{path}:{line_no}"),
            weight,
        });
    }
    Ok(rows)
}

/// Reads a file of rows.
pub fn read_rows(
    path: &Path,
    catalogs: &BTreeMap<String, (RoomCatalog, Vec<String>)>,
    weight: f32,
) -> Result<Vec<Row>, CorpusError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_rows(&shown, &text, catalogs, weight)
}

/// The raw files of `dir/raw/*.tsv`, in name order.
pub fn raw_files(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let raw = dir.join("raw");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&raw)
        .map_err(|source| CorpusError::Read {
            path: raw.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CorpusError::Empty(raw.display().to_string()));
    }
    Ok(paths)
}

/// The corpus, de-duplicated, each row with its skeleton and split.
#[derive(Debug)]
pub struct Corpus {
    pub catalogs: BTreeMap<String, (RoomCatalog, Vec<String>)>,
    pub rows: Vec<(Row, String, Split)>,
    /// Rows per raw file as read.
    pub files: Vec<(String, usize)>,
    /// Rows dropped because an earlier row had the same text.
    pub exact_duplicates: usize,
    /// Rows whose skeleton an earlier kept row already had.
    pub near_duplicates: usize,
}

/// Loads `dir`: catalogs, every raw file, exact duplicates dropped (the first kept).
pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
    let catalogs = load_catalogs(dir)?;
    let mut seen_text = HashSet::new();
    let mut seen_skeleton = HashSet::new();
    let mut rows = Vec::new();
    let mut files = Vec::new();
    let (mut exact, mut near) = (0, 0);
    for path in raw_files(dir)? {
        let file_rows = read_rows(&path, &catalogs, 1.0)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, file_rows.len()));
        for row in file_rows {
            if !seen_text.insert(row.text.clone()) {
                exact += 1;
                continue;
            }
            let skeleton = skeleton(&row.text);
            if !seen_skeleton.insert(skeleton.clone()) {
                near += 1;
            }
            let split = Split::of(&skeleton);
            rows.push((row, skeleton, split));
        }
    }
    Ok(Corpus {
        catalogs,
        rows,
        files,
        exact_duplicates: exact,
        near_duplicates: near,
    })
}

/// The near-duplicate skeleton of a text: emote codes (`[比心]`), digits, product numbers
/// (`2号`, `二号`), emoji, punctuation and spaces removed, ASCII lowercased.
pub fn skeleton(text: &str) -> String {
    const NUMERALS: &str = "一二三四五六七八九十两零";
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' || c == '【' {
            let close = if c == '[' { ']' } else { '】' };
            if let Some(len) = chars[i + 1..].iter().take(10).position(|&d| d == close) {
                i += len + 2;
                continue;
            }
        }
        // A Chinese numeral before 号 is a product number: both go.
        if NUMERALS.contains(c) && chars.get(i + 1) == Some(&'号') {
            i += 2;
            continue;
        }
        if c == '号' && i > 0 && (chars[i - 1].is_numeric() || chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        if c.is_alphabetic() {
            out.extend(c.to_lowercase());
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons_forget_numbers_emotes_and_punctuation() {
        assert_eq!(skeleton("2号多少钱？？[比心]"), "多少钱");
        assert_eq!(skeleton("二号 多少钱!!😀"), "多少钱");
        assert_eq!(skeleton("160 100斤穿啥码"), "斤穿啥码");
        assert_eq!(skeleton("YYDS"), "yyds");
        assert_eq!(Split::of("多少钱"), Split::of(&skeleton("3号多少钱~")));
    }
}
