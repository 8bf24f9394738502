//! Which source of the AWS credential chain answers (for `mezzfs doctor`).

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::ProvideCredentials;

/// Resolves credentials through the standard AWS chain (environment, profile files, web
/// identity, container, instance metadata) and returns the name of the provider that gave
/// them (the SDK's own, e.g. `EnvironmentVariable`, `ProfileFile`), or why none did.
pub async fn credential_provider_name() -> Result<String, String> {
    let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let provider = shared
        .credentials_provider()
        .ok_or_else(|| "no credential provider configured".to_string())?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
    // The SDK keeps the provider's name private but shows it in Debug (secrets redacted).
    Ok(provider_name_of(&format!("{creds:?}"))
        .unwrap_or("unknown provider")
        .to_string())
}

/// The `provider_name` field of a `Credentials` Debug rendering.
fn provider_name_of(debug: &str) -> Option<&str> {
    let rest = debug.split_once("provider_name: \"")?.1;
    Some(rest.split_once('"')?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_provider_name_in_the_debug_text() {
        let c = aws_sdk_s3::config::Credentials::new("AKID", "secret", None, None, "ProfileFile");
        let text = format!("{c:?}");
        assert!(!text.contains("secret\""), "{text}");
        assert_eq!(provider_name_of(&text), Some("ProfileFile"));
        assert_eq!(provider_name_of("nothing"), None);
    }
}
