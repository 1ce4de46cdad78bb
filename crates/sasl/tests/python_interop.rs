//! Interop: Python's standard library (hashlib.pbkdf2_hmac, hmac) computes the SCRAM-SHA-256
//! client proof and server signature for random inputs; ours must match byte for byte.

use std::process::Command;

use postwerk_sasl::client::{ChannelBinding, ClientMechanism, ScramClient};
use proptest::prelude::*;

const SCRIPT: &str = r#"
import sys, hashlib, hmac, base64
user, pw, cn, sn, salt_b64, it = sys.argv[1:7]
salt = base64.b64decode(salt_b64); it = int(it)
sp = hashlib.pbkdf2_hmac('sha256', pw.encode(), salt, it)
ck = hmac.new(sp, b'Client Key', 'sha256').digest()
sk = hashlib.sha256(ck).digest()
esc = lambda s: s.replace('=', '=3D').replace(',', '=2C')
bare = 'n=%s,r=%s' % (esc(user), cn)
sf = 'r=%s%s,s=%s,i=%d' % (cn, sn, salt_b64, it)
cfwp = 'c=biws,r=%s%s' % (cn, sn)
am = ('%s,%s,%s' % (bare, sf, cfwp)).encode()
sig = hmac.new(sk, am, 'sha256').digest()
proof = bytes(a ^ b for a, b in zip(ck, sig))
svk = hmac.new(sp, b'Server Key', 'sha256').digest()
print(base64.b64encode(proof).decode())
print(base64.b64encode(hmac.new(svk, am, 'sha256').digest()).decode())
"#;

fn python(args: &[&str]) -> (String, String) {
    let output = match Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "python3 is needed for the SCRAM interop test (standard library only) \
             and could not be run: {e}"
        ),
    };
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn scram_proof_matches_python_hashlib(
        user in "[a-zA-Z0-9@.,=_-]{1,20}",
        password in "[!-~]{1,24}",
        client_nonce in "[!-+\\--~]{8,24}",
        server_nonce in "[!-+\\--~]{8,24}",
        salt in proptest::collection::vec(any::<u8>(), 8..24),
        iterations in 1u32..200,
    ) {
        let mut client =
            ScramClient::new(&user, &password, None, &client_nonce, ChannelBinding::None)
                .unwrap()
                .with_iteration_limits(1, 1000);
        client.initial_response().unwrap();
        let server_first =
            format!("r={client_nonce}{server_nonce},s={},i={iterations}", b64(&salt));
        let client_final = String::from_utf8(client.step(server_first.as_bytes()).unwrap()).unwrap();
        let ours = client_final.rsplit_once(",p=").unwrap().1.to_owned();

        let iterations = iterations.to_string();
        let salt = b64(&salt);
        let (proof, server_signature) = python(&[
            &user, &password, &client_nonce, &server_nonce, &salt, &iterations,
        ]);
        prop_assert_eq!(ours, proof);
        // Python's server signature is accepted by our client.
        let server_final = format!("v={server_signature}");
        prop_assert_eq!(client.step(server_final.as_bytes()).unwrap(), b"");
        client.finish(None).unwrap();
    }
}
