//! Choosing the strongest mechanism the server offers and the credentials allow.

use postwerk_sasl::server::{ServerContext, ServerMechanisms};
use postwerk_sasl::{Credentials, Mechanism, UsageError, choose_mechanism, client_mechanism};

const ALL: [&str; 7] = [
    "LOGIN",
    "PLAIN",
    "XOAUTH2",
    "OAUTHBEARER",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
    "EXTERNAL",
];

#[test]
fn strongest_first() {
    let both = Credentials::password("u", "p")
        .with_oauth_token("t")
        .with_channel_binding(vec![1; 32]);
    assert_eq!(
        choose_mechanism(ALL, &both, true),
        Some(Mechanism::ScramSha256Plus)
    );
    let no_cb = Credentials::password("u", "p").with_oauth_token("t");
    assert_eq!(
        choose_mechanism(ALL, &no_cb, true),
        Some(Mechanism::ScramSha256)
    );
    let offered = ["LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"];
    assert_eq!(
        choose_mechanism(offered, &no_cb, false),
        Some(Mechanism::OAuthBearer)
    );
    assert_eq!(
        choose_mechanism(["LOGIN", "PLAIN", "XOAUTH2"], &no_cb, false),
        Some(Mechanism::XOAuth2)
    );
    let password = Credentials::password("u", "p");
    assert_eq!(
        choose_mechanism(["LOGIN", "PLAIN", "XOAUTH2"], &password, true),
        Some(Mechanism::Plain)
    );
    assert_eq!(
        choose_mechanism(["LOGIN"], &password, true),
        Some(Mechanism::Login)
    );
}

#[test]
fn cleartext_mechanisms_only_on_a_protected_channel() {
    let password = Credentials::password("u", "p");
    assert_eq!(choose_mechanism(["LOGIN", "PLAIN"], &password, false), None);
    assert_eq!(
        choose_mechanism(["login", "plain"], &password, true),
        Some(Mechanism::Plain)
    );
}

#[test]
fn plus_only_with_channel_binding_data_and_oauth_only_with_a_token() {
    let password = Credentials::password("u", "p");
    assert_eq!(
        choose_mechanism(["SCRAM-SHA-256-PLUS"], &password, true),
        None
    );
    assert_eq!(
        choose_mechanism(["OAUTHBEARER", "XOAUTH2"], &password, true),
        None
    );
    let token = Credentials::oauth("u", "t");
    assert_eq!(
        choose_mechanism(["SCRAM-SHA-256", "PLAIN"], &token, true),
        None
    );
    assert_eq!(
        choose_mechanism(["X-UNKNOWN", "CRAM-MD5"], &password, true),
        None
    );
}

#[test]
fn external_only_when_asked() {
    assert_eq!(
        choose_mechanism(ALL, &Credentials::external(), false),
        Some(Mechanism::External)
    );
    assert_eq!(
        choose_mechanism(["EXTERNAL"], &Credentials::password("u", "p"), true),
        None
    );
}

#[test]
fn client_mechanism_needs_its_credentials() {
    let token = Credentials::oauth("u", "t");
    assert_eq!(
        client_mechanism(Mechanism::Plain, &token, "n").unwrap_err(),
        UsageError::MissingCredential("PLAIN", "password")
    );
    assert_eq!(
        client_mechanism(
            Mechanism::ScramSha256Plus,
            &Credentials::password("u", "p"),
            "n"
        )
        .unwrap_err(),
        UsageError::MissingChannelBinding
    );
    let mech = client_mechanism(
        Mechanism::ScramSha256,
        &Credentials::password("u", "p"),
        "n",
    )
    .unwrap();
    assert_eq!(mech.name(), "SCRAM-SHA-256");
}

#[test]
fn scram_without_plus_sends_y_when_the_client_could_bind() {
    let creds = Credentials::password("u", "p").with_channel_binding(vec![1; 32]);
    let mut mech = client_mechanism(Mechanism::ScramSha256, &creds, "nonce").unwrap();
    assert_eq!(mech.initial_response().unwrap().unwrap(), b"y,,n=u,r=nonce");
    let mut mech = client_mechanism(Mechanism::ScramSha256Plus, &creds, "nonce").unwrap();
    assert_eq!(
        mech.initial_response().unwrap().unwrap(),
        b"p=tls-exporter,,n=u,r=nonce"
    );
    let mut mech = client_mechanism(
        Mechanism::ScramSha256,
        &Credentials::password("u", "p"),
        "nonce",
    )
    .unwrap();
    assert_eq!(mech.initial_response().unwrap().unwrap(), b"n,,n=u,r=nonce");
}

#[test]
fn server_offers_by_channel_state() {
    let mechanisms = ServerMechanisms::builtin();
    let clear = ServerContext::new("n");
    assert_eq!(
        mechanisms.offered(&clear),
        ["SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"]
    );
    let mut mechanisms = ServerMechanisms::builtin();
    assert!(mechanisms.remove("xoauth2"));
    assert!(!mechanisms.remove("XOAUTH2"));
    mechanisms.add_builtin(Mechanism::External);
    let tls = ServerContext::new("n").protected(true);
    assert_eq!(
        mechanisms.offered(&tls),
        ["SCRAM-SHA-256", "OAUTHBEARER", "PLAIN", "LOGIN", "EXTERNAL"]
    );
}
