//! The pieces the binary pending-login formats are made of (`format`, and format 1 in `earlier`): a
//! string is its UTF-8 bytes behind their length in unsigned LEB128, in its shortest form and at most
//! `MAX_LENGTH_BYTES` bytes. The reader is strict: one spelling of each value, nothing left unread.

/// A length needs at most 4 LEB128 bytes (up to 2^28 - 1 bytes): far more than any cookie holds.
const MAX_LENGTH_BYTES: usize = 4;

/// Appends `text` behind its length.
pub fn put_string(out: &mut Vec<u8>, text: &str) {
    let mut length = text.len();
    loop {
        let low = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(text.as_bytes());
}

/// What `text` costs in the layout: its bytes and one or two of length (at the sizes a cookie holds).
pub fn string_cost(text: &str) -> usize {
    text.len() + 2
}

pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    /// Eight bytes, big-endian.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length in unsigned LEB128: shortest form only, at most `MAX_LENGTH_BYTES` bytes.
    fn length(&mut self) -> Option<usize> {
        let mut length = 0usize;
        for i in 0..MAX_LENGTH_BYTES {
            let byte = self.byte()?;
            length |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                // A zero last byte after the first would be a second spelling of a shorter length.
                return (i == 0 || byte != 0).then_some(length);
            }
        }
        None
    }

    pub fn string(&mut self) -> Option<String> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).ok()
    }

    /// True when every byte was read: nothing may follow the last field.
    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }
}
