#![no_main]
//! The `Authentication-Results` parser on arbitrary bytes: never panics; what it accepts
//! it reads the same way again after the writer has written it back from its parts.
use libfuzzer_sys::fuzz_target;
use postwerk_auth::results::{AuthenticationResults, MethodResult, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse(data) else {
        return;
    };
    let Ok(mut ar) = AuthenticationResults::new(&parsed.authserv_id) else {
        return;
    };
    for m in &parsed.results {
        let Ok(mut w) = MethodResult::new(&m.method, &m.result) else {
            return;
        };
        for (ptype, name, value) in &m.properties {
            match w.property(ptype, name, value) {
                Ok(next) => w = next,
                Err(_) => return,
            }
        }
        ar.push(w);
    }
    let field = ar.to_field();
    let value = field
        .strip_prefix("Authentication-Results:")
        .expect("the writer writes the field name");
    let again = parse(value.as_bytes()).expect("the writer's output parses");
    assert_eq!(again.authserv_id, parsed.authserv_id);
    assert_eq!(again.results.len(), parsed.results.len());
});
