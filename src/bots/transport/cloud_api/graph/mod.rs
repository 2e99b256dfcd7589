//! The Graph API client: a bot's phone number details, sending messages, its approved
//! templates, and downloading the media people send.
//!
//! One `GraphClient` serves every bot; the access token belongs to a bot and is passed per
//! call, only ever as an `Authorization: Bearer` header (never in a URL, an error or a log).

mod error;
mod message;
mod multipart;

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use error::{GraphError, MetaError};
pub use message::{
    CloudBody, ListRow, ListSection, MediaKind, MediaSource, OutgoingCloudMessage, ReplyButton,
    TemplateComponent, TemplateParameter,
};

/// The Graph API version every call uses; the one place to move it forward.
pub const GRAPH_VERSION: &str = "v23.0";

/// How many template pages we follow before deciding something is wrong.
const MAX_TEMPLATE_PAGES: usize = 50;

/// A client for Meta's Graph API, built once and shared.
#[derive(Clone)]
pub struct GraphClient {
    base_url: Url,
    http: reqwest::Client,
}

/// A business phone number as Meta knows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PhoneNumber {
    /// The display name Meta approved.
    pub verified_name: String,
    /// The number as people see it, e.g. `+1 555-010-0100`.
    pub display_phone_number: String,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    #[serde(default)]
    pub quality_rating: Option<String>,
}

/// A message template of a WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageTemplate {
    pub name: String,
    /// The language code, e.g. `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED` for every template `message_templates` returns.
    pub status: String,
    #[serde(default)]
    pub components: Vec<TemplatePart>,
}

/// One part of a template as defined at Meta (header, body, footer, buttons).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplatePart {
    /// `HEADER`, `BODY`, `FOOTER` or `BUTTONS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A header's format: `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`.
    #[serde(default)]
    pub format: Option<String>,
    /// The text, with `{{1}}`-style placeholders.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub buttons: Vec<TemplateButton>,
}

/// A button defined in a template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

/// Where to fetch a media file someone sent, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// A short-lived URL; fetch it with `download` and the same token.
    pub url: String,
    pub mime_type: String,
    pub sha256: String,
    pub file_size: u64,
}

#[derive(Deserialize)]
struct SendAnswer {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Deserialize)]
struct UploadAnswer {
    id: String,
}

#[derive(Deserialize)]
struct TemplatePage {
    data: Vec<MessageTemplate>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<String>,
}

#[derive(Deserialize)]
struct MediaAnswer {
    url: String,
    mime_type: String,
    sha256: String,
    file_size: NumberOrString,
}

/// Meta's examples show `file_size` both as a number and as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(u64),
    Text(String),
}

/// Graph ids are numbers; anything else would change the path we call.
fn check_id(what: &str, id: &str) -> Result<(), GraphError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(GraphError::NotSent(format!("{what} must be digits")));
    }
    Ok(())
}

impl GraphClient {
    /// A client for the Graph API at `base_url` (`META_GRAPH_URL`).
    pub fn new(base_url: Url) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            // Media URLs are Meta's own; a redirect elsewhere must not receive the token.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(GraphError::network)?;
        Ok(Self { base_url, http })
    }

    /// `{base_url}/{GRAPH_VERSION}/{path}`, keeping any folder the base URL has (a relay).
    fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let folder = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{folder}/{GRAPH_VERSION}/{path}"));
        url.set_query(None);
        url
    }

    /// Send `request` with the bot's token; read a 2xx answer as `T`, sort anything else.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        token: &str,
    ) -> Result<T, GraphError> {
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(GraphError::network)?;
        let status = response.status();
        let body = response.bytes().await.map_err(GraphError::network)?;
        if !status.is_success() {
            return Err(GraphError::from_response(status.as_u16(), &body));
        }
        serde_json::from_slice(&body).map_err(|e| {
            GraphError::Unavailable(MetaError {
                message: format!("unexpected answer from the Graph API: {e}"),
                ..MetaError::default()
            })
        })
    }

    /// The verified name, display number and quality rating of a business phone number:
    /// proves the id and token belong together.
    pub async fn phone_number(
        &self,
        phone_number_id: &str,
        token: &str,
    ) -> Result<PhoneNumber, GraphError> {
        check_id("the phone number id", phone_number_id)?;
        let mut url = self.url(phone_number_id);
        url.query_pairs_mut().append_pair(
            "fields",
            "verified_name,display_phone_number,quality_rating",
        );
        self.call(self.http.get(url), token).await
    }

    /// Send `message` from the number `phone_number_id`; answers the new message's id
    /// (`wamid.…`). The message is checked against Meta's limits first.
    pub async fn send(
        &self,
        phone_number_id: &str,
        token: &str,
        message: &OutgoingCloudMessage,
    ) -> Result<String, GraphError> {
        check_id("the phone number id", phone_number_id)?;
        message.validate()?;
        let url = self.url(&format!("{phone_number_id}/messages"));
        let answer: SendAnswer = self
            .call(self.http.post(url).json(&message.to_json()), token)
            .await?;
        answer
            .messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| {
                GraphError::Unavailable(MetaError {
                    message: "the Graph API accepted the message but gave no id".into(),
                    ..MetaError::default()
                })
            })
    }

    /// The approved templates of the WhatsApp Business Account `waba_id`, every page.
    pub async fn message_templates(
        &self,
        waba_id: &str,
        token: &str,
    ) -> Result<Vec<MessageTemplate>, GraphError> {
        check_id("the business account id", waba_id)?;
        let mut url = self.url(&format!("{waba_id}/message_templates"));
        url.query_pairs_mut()
            .append_pair("fields", "name,language,category,status,components")
            .append_pair("limit", "100");
        let mut templates = Vec::new();
        for _ in 0..MAX_TEMPLATE_PAGES {
            let page: TemplatePage = self.call(self.http.get(url.clone()), token).await?;
            templates.extend(page.data.into_iter().filter(|t| t.status == "APPROVED"));
            let Some(next) = page.paging.and_then(|p| p.next) else {
                return Ok(templates);
            };
            // The token follows the cursor: only ever to the Graph API itself.
            url = Url::parse(&next)
                .ok()
                .filter(|n| n.origin() == self.base_url.origin())
                .ok_or_else(|| {
                    GraphError::Unavailable(MetaError {
                        message: "the next template page is not on the Graph API".into(),
                        ..MetaError::default()
                    })
                })?;
        }
        Err(GraphError::Unavailable(MetaError {
            message: format!("more than {MAX_TEMPLATE_PAGES} pages of templates"),
            ..MetaError::default()
        }))
    }

    /// Where to download the media `media_id` (from an incoming message) and what it is.
    pub async fn media_url(&self, media_id: &str, token: &str) -> Result<MediaInfo, GraphError> {
        check_id("the media id", media_id)?;
        let answer: MediaAnswer = self.call(self.http.get(self.url(media_id)), token).await?;
        let file_size = match answer.file_size {
            NumberOrString::Number(n) => n,
            NumberOrString::Text(s) => s.parse().unwrap_or(0),
        };
        Ok(MediaInfo {
            url: answer.url,
            mime_type: answer.mime_type,
            sha256: answer.sha256,
            file_size,
        })
    }

    /// Upload a file for the number `phone_number_id` to send (`POST /{id}/media`, a
    /// multipart form with `messaging_product`, `type` and `file`); answers the media id to
    /// send it by. Check the file against Meta's limits first (`media_checks`).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &str,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GraphError> {
        check_id("the phone number id", phone_number_id)?;
        let form = multipart::Form::new(mime_type, filename, bytes)?;
        let request = self
            .http
            .post(self.url(&format!("{phone_number_id}/media")))
            // Uploads take longer than the other calls.
            .timeout(Duration::from_secs(120))
            .header(reqwest::header::CONTENT_TYPE, form.content_type())
            .body(form.into_body());
        let answer: UploadAnswer = self.call(request, token).await?;
        Ok(answer.id)
    }

    /// The bytes at a media `url` from `media_url`; refuses a body over `max_bytes`
    /// without reading it all.
    pub async fn download(
        &self,
        url: &str,
        token: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, GraphError> {
        let url = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| GraphError::NotSent("the media URL is not an http(s) URL".into()))?;
        let mut response = self
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(GraphError::network)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.map_err(GraphError::network)?;
            return Err(GraphError::from_response(status.as_u16(), &body));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(GraphError::TooLarge { max_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(GraphError::network)? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(GraphError::TooLarge { max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_under_the_version_and_any_base_folder() {
        let meta = GraphClient::new(Url::parse("https://graph.facebook.com").unwrap()).unwrap();
        assert_eq!(
            meta.url("106540352242922/messages").as_str(),
            format!("https://graph.facebook.com/{GRAPH_VERSION}/106540352242922/messages")
        );
        let relay = GraphClient::new(Url::parse("http://relay.local/meta/").unwrap()).unwrap();
        assert_eq!(
            relay.url("1").as_str(),
            format!("http://relay.local/meta/{GRAPH_VERSION}/1")
        );
    }

    #[test]
    fn ids_must_be_digits_so_they_cannot_change_the_path() {
        assert!(check_id("id", "106540352242922").is_ok());
        for bad in ["", "1/../2", "12?x=1", "abc"] {
            assert!(matches!(check_id("id", bad), Err(GraphError::NotSent(_))));
        }
    }
}
