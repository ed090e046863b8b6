//! The packet codec: a 16-byte big-endian header and a body; zlib and brotli bodies hold more
//! packets. Decoding is bounded (packets, bytes, nesting) and never panics.

use std::io::Read;

use thiserror::Error;

use crate::sources::MAX_DECOMPRESSED;

/// Header length in bytes.
pub const HEADER_LEN: usize = 16;

/// Protocol version: body is JSON.
pub const VER_JSON: u16 = 0;
/// Protocol version: body is plain (heartbeat, auth, popularity).
pub const VER_PLAIN: u16 = 1;
/// Protocol version: body is zlib-compressed packets.
pub const VER_ZLIB: u16 = 2;
/// Protocol version: body is brotli-compressed packets.
pub const VER_BROTLI: u16 = 3;

pub const OP_HEARTBEAT: u32 = 2;
pub const OP_HEARTBEAT_REPLY: u32 = 3;
pub const OP_COMMAND: u32 = 5;
pub const OP_AUTH: u32 = 7;
pub const OP_AUTH_REPLY: u32 = 8;

/// Compressed bodies inside compressed bodies are refused past this depth (real traffic: 1).
pub const MAX_NESTING: usize = 2;
/// Packets decoded from one WebSocket message at most.
pub const MAX_PACKETS: usize = 4096;
/// Bytes decompressed from one WebSocket message at most, all packets together.
pub const MAX_DECOMPRESSED_TOTAL: usize = 4 * MAX_DECOMPRESSED;

/// One decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub protover: u16,
    pub op: u32,
    pub seq: u32,
    pub body: Vec<u8>,
}

/// Encodes one packet.
pub fn encode(protover: u16, op: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(HEADER_LEN + body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&(HEADER_LEN as u16).to_be_bytes());
    out.extend_from_slice(&protover.to_be_bytes());
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Why (part of) a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("a packet is cut short")]
    Truncated,
    #[error("header length {header} or packet length {packet} is impossible")]
    BadHeader { header: u16, packet: u32 },
    #[error("unknown protocol version {0}")]
    UnknownVersion(u16),
    #[error("a compressed body does not decompress")]
    Decompress,
    #[error("a body decompresses to more than the limit")]
    TooLarge,
    #[error("compressed packets nested deeper than {MAX_NESTING}")]
    TooDeep,
    #[error("more than {MAX_PACKETS} packets in one message")]
    TooManyPackets,
}

impl CodecError {
    /// The status's error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::Truncated => "truncated",
            CodecError::BadHeader { .. } => "bad_header",
            CodecError::UnknownVersion(_) => "unknown_version",
            CodecError::Decompress => "decompress",
            CodecError::TooLarge => "too_large",
            CodecError::TooDeep => "too_deep",
            CodecError::TooManyPackets => "too_many_packets",
        }
    }
}

/// The packets of one message (compressed ones replaced by what they contain), and what
/// could not be decoded. Decoding goes on past a bad packet when its length is known.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub packets: Vec<Packet>,
    pub errors: Vec<CodecError>,
}

/// Decodes one WebSocket message. Bounded: at most [`MAX_PACKETS`] packets,
/// [`MAX_DECOMPRESSED`] bytes per decompressed body and [`MAX_DECOMPRESSED_TOTAL`] in all,
/// [`MAX_NESTING`] levels; never panics on any input.
pub fn decode(message: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut budget = MAX_DECOMPRESSED_TOTAL;
    decode_into(message, 0, &mut decoded, &mut budget);
    decoded
}

fn decode_into(mut rest: &[u8], depth: usize, out: &mut Decoded, budget: &mut usize) {
    while !rest.is_empty() {
        if out.packets.len() >= MAX_PACKETS {
            out.errors.push(CodecError::TooManyPackets);
            return;
        }
        if rest.len() < HEADER_LEN {
            out.errors.push(CodecError::Truncated);
            return;
        }
        let packet_len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let header_len = u16::from_be_bytes([rest[4], rest[5]]);
        let protover = u16::from_be_bytes([rest[6], rest[7]]);
        let op = u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let seq = u32::from_be_bytes([rest[12], rest[13], rest[14], rest[15]]);
        let (plen, hlen) = (packet_len as usize, usize::from(header_len));
        if hlen < HEADER_LEN || hlen > plen {
            // Without a sane length there is no next packet to find.
            out.errors.push(CodecError::BadHeader {
                header: header_len,
                packet: packet_len,
            });
            return;
        }
        if plen > rest.len() {
            out.errors.push(CodecError::Truncated);
            return;
        }
        let body = &rest[hlen..plen];
        rest = &rest[plen..];
        match protover {
            VER_JSON | VER_PLAIN => out.packets.push(Packet {
                protover,
                op,
                seq,
                body: body.to_vec(),
            }),
            VER_ZLIB | VER_BROTLI => {
                if depth >= MAX_NESTING {
                    out.errors.push(CodecError::TooDeep);
                    continue;
                }
                match inflate(protover, body, budget) {
                    Ok(inner) => decode_into(&inner, depth + 1, out, budget),
                    Err(e) => out.errors.push(e),
                }
            }
            other => out.errors.push(CodecError::UnknownVersion(other)),
        }
    }
}

/// Decompresses a body, reading at most the smaller of [`MAX_DECOMPRESSED`] and what is left
/// of the message's budget (streaming: a zip bomb costs no more than the limit).
fn inflate(protover: u16, body: &[u8], budget: &mut usize) -> Result<Vec<u8>, CodecError> {
    let limit = MAX_DECOMPRESSED.min(*budget);
    let mut out = Vec::new();
    let read = if protover == VER_ZLIB {
        flate2::read::ZlibDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    } else {
        brotli::Decompressor::new(body, 4096)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    };
    read.map_err(|_| CodecError::Decompress)?;
    if out.len() > limit {
        return Err(CodecError::TooLarge);
    }
    *budget -= out.len();
    Ok(out)
}
