//! The model file (`models/analysis.bin`), little-endian throughout:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `LCMODEL\0` |
//! | 4 | format version (`u32`, 1) |
//! | 4 | `bits`: the hashed features use `2^bits` buckets |
//! | 4 | signal rows after the buckets ([`super::features::SIGNALS`]) |
//! | 4 | outputs per row ([`OUTPUTS`], 21) |
//! | 4 | guard intents (bit `i` = intent `i` in label order) |
//! | 4 × outputs | per-output scale (`f32`): a weight is `scale × i8` |
//! | 4 × 18 | thresholds (`f32`): 17 intents, then the question |
//! | rows × outputs | weights, `i8`, row-major |
//! | 8 | FNV-1a 64 of every byte before it |

use std::borrow::Cow;

use super::features::SIGNALS;
use super::{INTENTS, Model, OUTPUTS};
use crate::analyze::IntentSet;

pub const MAGIC: &[u8; 8] = b"LCMODEL\0";
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 * 5 + 4 * OUTPUTS + 4 * (INTENTS + 1);

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a LiveCue model (bad magic)")]
    Magic,
    #[error("model format version {0}; this build reads version {FORMAT_VERSION}")]
    Version(u32),
    #[error("model file is truncated or has trailing bytes ({0} bytes)")]
    Size(usize),
    #[error("model checksum mismatch: the file is damaged")]
    Checksum,
    #[error("model shape not supported: {0}")]
    Shape(String),
}

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub fn encode(model: &Model) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + model.weights.len() + 8);
    out.extend_from_slice(MAGIC);
    for v in [
        FORMAT_VERSION,
        model.bits,
        SIGNALS as u32,
        OUTPUTS as u32,
        model.guards.bits(),
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in model.scale.iter().chain(&model.thresholds) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&model.weights);
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

pub fn decode<'a>(
    bytes: &'a [u8],
    weights: impl FnOnce(&'a [u8]) -> Cow<'static, [u8]>,
) -> Result<Model, ModelError> {
    if bytes.len() < HEADER + 8 {
        return Err(if bytes.starts_with(MAGIC) || bytes.len() < 8 {
            ModelError::Size(bytes.len())
        } else {
            ModelError::Magic
        });
    }
    if &bytes[..8] != MAGIC {
        return Err(ModelError::Magic);
    }
    let version = u32_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(ModelError::Version(version));
    }
    let (bits, signals, outputs) = (u32_at(bytes, 12), u32_at(bytes, 16), u32_at(bytes, 20));
    if !(8..=20).contains(&bits) || signals as usize != SIGNALS || outputs as usize != OUTPUTS {
        return Err(ModelError::Shape(format!(
            "{bits} bits, {signals} signals, {outputs} outputs"
        )));
    }
    let rows = (1usize << bits) + SIGNALS;
    let total = HEADER + rows * OUTPUTS + 8;
    if bytes.len() != total {
        return Err(ModelError::Size(bytes.len()));
    }
    let body = &bytes[..total - 8];
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[total - 8..]);
    if fnv1a(body) != u64::from_le_bytes(sum) {
        return Err(ModelError::Checksum);
    }
    let guards = IntentSet::from_bits(u32_at(bytes, 24));
    let mut at = 28;
    let mut f32s = [0f32; OUTPUTS + INTENTS + 1];
    for v in &mut f32s {
        *v = f32::from_bits(u32_at(bytes, at));
        at += 4;
    }
    let mut scale = [0f32; OUTPUTS];
    scale.copy_from_slice(&f32s[..OUTPUTS]);
    let mut thresholds = [0f32; INTENTS + 1];
    thresholds.copy_from_slice(&f32s[OUTPUTS..]);
    Ok(Model {
        bits,
        weights: weights(&bytes[HEADER..total - 8]),
        scale,
        thresholds,
        guards,
    })
}
