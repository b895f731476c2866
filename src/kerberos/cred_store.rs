//! The acceptor credential from a keytab and a replay cache named per credential, with MIT krb5's
//! `gss_acquire_cred_from` (the credential store extension, krb5 1.11; `rcache` since 1.13). Naming them
//! here instead of in `KRB5_KTNAME` and `KRB5RCACHENAME` keeps the process environment untouched: setting
//! variables in a running multi-threaded process is unsound, and the keytab belongs to the configuration.
//!
//! The one place in freshgate with `unsafe` code: the `libgssapi` crate has no safe wrapper for this call.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::path::Path;
use std::ptr;

use libgssapi::credential::Cred;
use libgssapi::error::{Error, MajorFlags};
use libgssapi_sys::{
    GSS_C_ACCEPT, GSS_S_COMPLETE, OM_uint32, gss_acquire_cred_from, gss_cred_id_t,
    gss_cred_usage_t, gss_key_value_element_desc, gss_key_value_set_desc,
};

/// Acceptor credentials for every principal in `keytab` (the caller checks which one a ticket was for),
/// with the replay cache `rcache` (an MIT rcache name: `none:` for none, `file2:/path`).
pub fn acceptor(keytab: &Path, rcache: &str) -> Result<Cred, String> {
    let keytab = CString::new(format!("FILE:{}", keytab.display()))
        .map_err(|_| "the keytab's path holds a NUL byte".to_owned())?;
    let rcache =
        CString::new(rcache).map_err(|_| "the replay cache's name holds a NUL byte".to_owned())?;
    let keytab_key = c"keytab";
    let rcache_key = c"rcache";
    let mut elements = [
        gss_key_value_element_desc {
            key: keytab_key.as_ptr(),
            value: keytab.as_ptr(),
        },
        gss_key_value_element_desc {
            key: rcache_key.as_ptr(),
            value: rcache.as_ptr(),
        },
    ];
    let store = gss_key_value_set_desc {
        count: elements.len() as OM_uint32,
        elements: elements.as_mut_ptr(),
    };
    let mut minor: OM_uint32 = GSS_S_COMPLETE;
    let mut cred: gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `store` and the strings it points to live until the
    // function returns, the name and mechanism set are GSS_C_NO_NAME and GSS_C_NO_OID_SET (null), and the
    // outputs we do not want are null, which RFC 2744 allows. On success `cred` is a new credential that
    // we own alone and hand to `Cred`, which releases it once.
    let major = unsafe {
        gss_acquire_cred_from(
            &mut minor,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
            GSS_C_ACCEPT as gss_cred_usage_t,
            &store,
            &mut cred,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if major != GSS_S_COMPLETE {
        let error = Error {
            major: MajorFlags::from_bits_retain(major),
            minor,
        };
        return Err(error.to_string());
    }
    // SAFETY: `cred` came from a successful gss_acquire_cred_from and nothing else holds it.
    Ok(unsafe { Cred::from_c(cred) })
}
