//! A reader of MIT keytab files (format version 0x502, which `ktpass` and `kadmin ktadd` write), so that
//! start-up and `freshgate check` can say which principals and key types a keytab holds without GSS-API.
//!
//! The format (MIT krb5 `keytab_file_format`): two bytes `05 02`, then entries, each an `i32` size (a
//! negative size is a hole of that many bytes, left by a removed entry) followed by the principal (a
//! component count, the realm and the components as counted strings), the name type, a timestamp, an
//! 8-bit key version, the key (`u16` encryption type, counted key bytes) and, when the entry has room for
//! it, a 32-bit key version that replaces the 8-bit one. All integers are big-endian. Key bytes are never
//! kept.

use std::path::Path;

/// Largest keytab read: a keytab of a few principals is a few hundred bytes.
const MAX_KEYTAB_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeytabEntry {
    /// `service/host@REALM` as GSS-API displays it.
    pub principal: String,
    pub kvno: u32,
    /// RFC 3961 §8 encryption type number.
    pub enctype: i32,
}

/// Encryption types Active Directory and MIT krb5 use today: AES (RFC 3962, RFC 8009) and Camellia.
pub fn is_strong(enctype: i32) -> bool {
    matches!(enctype, 17 | 18 | 19 | 20 | 25 | 26)
}

/// The name `ktpass` and `klist -e` use for an encryption type.
pub fn enctype_name(enctype: i32) -> String {
    match enctype {
        1 => "des-cbc-crc".into(),
        3 => "des-cbc-md5".into(),
        16 => "des3-cbc-sha1".into(),
        17 => "aes128-cts-hmac-sha1-96".into(),
        18 => "aes256-cts-hmac-sha1-96".into(),
        19 => "aes128-cts-hmac-sha256-128".into(),
        20 => "aes256-cts-hmac-sha384-192".into(),
        23 => "rc4-hmac".into(),
        24 => "rc4-hmac-exp".into(),
        25 => "camellia128-cts-cmac".into(),
        26 => "camellia256-cts-cmac".into(),
        other => format!("enctype {other}"),
    }
}

/// Why a keytab cannot have decrypted a ticket, from its entries alone (the ticket's service principal,
/// encryption type and key version are in the clear, `super::ap_req`). GSS-API's own word for it is
/// not usable: through SPNEGO, MIT's mechanism glue replaces the krb5 code, and its message varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The keytab holds no key at all for the ticket's service.
    NoPrincipal,
    /// The ticket's key version is newer than every key of the keytab: the service account's password
    /// changed (or `ktpass` ran again) after the keytab was exported.
    KeytabOlder { newest: u32 },
    /// The ticket's key version is older than the keytab's newest and not in it: the client got the
    /// ticket before the key changed.
    TicketOlder { newest: u32 },
    /// The key version is there, but not for the ticket's encryption type.
    NoEnctype { kvno: Option<u32>, have: Vec<i32> },
}

impl Mismatch {
    /// `None` when the keytab has a key for `service` with `enctype` and `kvno` (any version when the
    /// ticket names none): then the failure is not the keytab's.
    pub fn find(
        entries: &[KeytabEntry],
        service: &str,
        enctype: i32,
        kvno: Option<u32>,
    ) -> Option<Mismatch> {
        let ours: Vec<&KeytabEntry> = entries
            .iter()
            .filter(|e| e.principal.eq_ignore_ascii_case(service))
            .collect();
        let Some(newest) = ours.iter().map(|e| e.kvno).max() else {
            return Some(Mismatch::NoPrincipal);
        };
        let same_version: Vec<&&KeytabEntry> = ours
            .iter()
            .filter(|e| kvno.is_none_or(|kvno| e.kvno == kvno))
            .collect();
        if same_version.iter().any(|e| e.enctype == enctype) {
            return None;
        }
        match kvno {
            Some(kvno) if same_version.is_empty() && kvno > newest => {
                Some(Mismatch::KeytabOlder { newest })
            }
            Some(_) if same_version.is_empty() => Some(Mismatch::TicketOlder { newest }),
            _ => {
                let mut have: Vec<i32> = same_version.iter().map(|e| e.enctype).collect();
                have.sort_unstable();
                have.dedup();
                Some(Mismatch::NoEnctype { kvno, have })
            }
        }
    }
}

/// The entries of the keytab at `path`.
pub fn read(path: &Path) -> Result<Vec<KeytabEntry>, String> {
    use std::io::Read as _;
    let file =
        std::fs::File::open(path).map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEYTAB_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_KEYTAB_BYTES {
        return Err(format!("{} is too large to be a keytab", path.display()));
    }
    let entries =
        parse(&bytes).map_err(|problem| format!("{} is not a keytab: {problem}", path.display()));
    bytes.iter_mut().for_each(|b| *b = 0);
    entries
}

/// The entries of keytab bytes.
pub fn parse(bytes: &[u8]) -> Result<Vec<KeytabEntry>, &'static str> {
    let mut reader = Reader(bytes);
    match reader.take(2)? {
        [0x05, 0x02] => {}
        [0x05, 0x01] => return Err("it is in the old version 1 format; export it again"),
        _ => return Err("it does not start with the keytab version 0x0502"),
    }
    let mut entries = Vec::new();
    while !reader.0.is_empty() {
        let size = reader.i32()?;
        if size < 0 {
            reader.take(size.unsigned_abs() as usize)?;
            continue;
        }
        if size == 0 {
            // Zero padding at the end of a file written in place.
            break;
        }
        let mut entry = Reader(reader.take(size as usize)?);
        let count = entry.u16()?;
        let realm = entry.text()?;
        let mut components = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            components.push(entry.text()?);
        }
        let _name_type = entry.u32()?;
        let _timestamp = entry.u32()?;
        let kvno8 = entry.take(1)?[0];
        let enctype = entry.u16()?;
        let key_length = entry.u16()?;
        entry.take(usize::from(key_length))?;
        let kvno = match entry.0.len() >= 4 {
            true => match entry.u32()? {
                0 => u32::from(kvno8),
                kvno => kvno,
            },
            false => u32::from(kvno8),
        };
        entries.push(KeytabEntry {
            principal: format!("{}@{realm}", components.join("/")),
            kvno,
            enctype: i32::from(enctype as i16),
        });
    }
    Ok(entries)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("it ends in the middle of an entry");
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self) -> Result<i32, &'static str> {
        self.u32().map(|n| n as i32)
    }

    fn text(&mut self) -> Result<String, &'static str> {
        let length = self.u16()?;
        let bytes = self.take(usize::from(length))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a principal name is not UTF-8")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One keytab entry as `ktutil` writes it, with a 32-bit kvno when `kvno32` is given.
    pub(crate) fn entry(
        principal: &[&str],
        realm: &str,
        kvno8: u8,
        enctype: u16,
        kvno32: Option<u32>,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend((principal.len() as u16).to_be_bytes());
        for part in std::iter::once(&realm).chain(principal) {
            body.extend((part.len() as u16).to_be_bytes());
            body.extend(part.as_bytes());
        }
        body.extend(1u32.to_be_bytes());
        body.extend(1_700_000_000u32.to_be_bytes());
        body.push(kvno8);
        body.extend(enctype.to_be_bytes());
        body.extend(32u16.to_be_bytes());
        body.extend([0xaa; 32]);
        if let Some(kvno) = kvno32 {
            body.extend(kvno.to_be_bytes());
        }
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    #[test]
    fn entries_holes_and_both_key_versions_are_read() {
        let mut bytes = vec![0x05, 0x02];
        bytes.extend(entry(
            &["HTTP", "sso.corp.example"],
            "CORP.EXAMPLE",
            3,
            18,
            None,
        ));
        bytes.extend((-12i32).to_be_bytes());
        bytes.extend([0u8; 12]);
        bytes.extend(entry(
            &["HTTP", "sso.corp.example"],
            "CORP.EXAMPLE",
            44,
            23,
            Some(300),
        ));
        let entries = parse(&bytes).unwrap();
        assert_eq!(
            entries,
            vec![
                KeytabEntry {
                    principal: "HTTP/sso.corp.example@CORP.EXAMPLE".into(),
                    kvno: 3,
                    enctype: 18
                },
                KeytabEntry {
                    principal: "HTTP/sso.corp.example@CORP.EXAMPLE".into(),
                    kvno: 300,
                    enctype: 23
                },
            ]
        );
        assert!(is_strong(18) && !is_strong(23) && !is_strong(3));
        assert_eq!(enctype_name(23), "rc4-hmac");
    }

    #[test]
    fn a_ticket_for_a_key_the_keytab_lacks_is_told_apart_by_version_and_type() {
        let service = "HTTP/sso.corp.example@CORP.EXAMPLE";
        let key = |kvno, enctype| KeytabEntry {
            principal: service.into(),
            kvno,
            enctype,
        };
        let other = KeytabEntry {
            principal: "HTTP/other@CORP.EXAMPLE".into(),
            kvno: 9,
            enctype: 18,
        };
        let entries = vec![key(2, 18), key(2, 17), key(4, 18), other];
        // The key is there (GSS-API's failure is not the keytab's); the service's case does not matter.
        assert_eq!(Mismatch::find(&entries, service, 18, Some(2)), None);
        assert_eq!(
            Mismatch::find(&entries, "http/SSO.corp.example@CORP.EXAMPLE", 18, Some(4)),
            None
        );
        assert_eq!(Mismatch::find(&entries, service, 17, None), None);
        // Newer than the keytab: the account's password changed after the export.
        assert_eq!(
            Mismatch::find(&entries, service, 18, Some(5)),
            Some(Mismatch::KeytabOlder { newest: 4 })
        );
        // Between the keytab's versions: the ticket predates the newest key.
        assert_eq!(
            Mismatch::find(&entries, service, 18, Some(3)),
            Some(Mismatch::TicketOlder { newest: 4 })
        );
        // The version is there, the encryption type is not.
        assert_eq!(
            Mismatch::find(&entries, service, 23, Some(2)),
            Some(Mismatch::NoEnctype {
                kvno: Some(2),
                have: vec![17, 18]
            })
        );
        assert_eq!(
            Mismatch::find(&entries, service, 23, None),
            Some(Mismatch::NoEnctype {
                kvno: None,
                have: vec![17, 18]
            })
        );
        // Another service's key version does not count for ours, and a service not there at all is named.
        assert_eq!(
            Mismatch::find(&entries, service, 18, Some(9)),
            Some(Mismatch::KeytabOlder { newest: 4 })
        );
        assert_eq!(
            Mismatch::find(&entries, "HTTP/elsewhere@CORP.EXAMPLE", 18, Some(2)),
            Some(Mismatch::NoPrincipal)
        );
    }

    #[test]
    fn truncated_old_and_foreign_files_are_refused() {
        let mut bytes = vec![0x05, 0x02];
        bytes.extend(entry(&["HTTP", "sso"], "CORP", 1, 18, None));
        bytes.truncate(bytes.len() - 5);
        assert!(parse(&bytes).is_err());
        assert!(parse(&[0x05, 0x01]).unwrap_err().contains("version 1"));
        assert!(parse(b"-----BEGIN PRIVATE KEY-----").is_err());
        assert!(parse(&[0x05]).is_err());
        assert_eq!(parse(&[0x05, 0x02]).unwrap(), vec![]);
    }
}
