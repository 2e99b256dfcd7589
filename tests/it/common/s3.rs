//! A local stand-in for an S3-compatible bucket over path-style URLs: it answers the calls
//! `object_store`'s S3 client makes for media (PUT, GET and DELETE of an object, and
//! ListObjectsV2 as S3's `ListBucketResult` XML), keeps the objects in memory, and records
//! every request with its `Authorization` header and whether that header is a valid AWS
//! Signature Version 4 for the test credentials (checked here from AWS's published algorithm).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The bucket the fake holds; any other answers S3's `NoSuchBucket`.
pub const BUCKET: &str = "whatsdex-media";
/// The credentials and region tests give the client.
pub const ACCESS_KEY_ID: &str = "AKIAFAKES3TESTKEY";
pub const SECRET_ACCESS_KEY: &str = "fakeS3secret/doNotLog0123456789abcdef";
pub const REGION: &str = "eu-west-1";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    pub authorization: Option<String>,
    /// Whether `authorization` signs this very request with `SECRET_ACCESS_KEY`.
    pub signature_valid: bool,
}

struct Object {
    bytes: Vec<u8>,
    etag: String,
    modified: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    objects: BTreeMap<String, Object>,
}

/// The running fake.
pub struct FakeS3 {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

fn s3_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/xml")
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>FAKE</RequestId></Error>"
        ))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// AWS's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex).
fn aws_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Whether the request's `Authorization` is the AWS Signature Version 4 of this request (path,
/// query, signed headers, payload hash) with the test key, for S3 in `REGION`.
fn signed_correctly(request: &HttpRequest, body: &[u8]) -> bool {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let Some(auth) = header("authorization") else {
        return false;
    };
    let Some(fields) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return false;
    };
    let field = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
    };
    let (Some(credential), Some(signed_headers), Some(signature)) = (
        field("Credential"),
        field("SignedHeaders"),
        field("Signature"),
    ) else {
        return false;
    };
    let (Some(amz_date), Some(payload_hash)) =
        (header("x-amz-date"), header("x-amz-content-sha256"))
    else {
        return false;
    };
    if payload_hash != "UNSIGNED-PAYLOAD" && payload_hash != hex::encode(Sha256::digest(body)) {
        return false;
    }
    let date = &amz_date[..8.min(amz_date.len())];
    let scope = format!("{date}/{REGION}/s3/aws4_request");
    if credential != format!("{ACCESS_KEY_ID}/{scope}") {
        return false;
    }
    let mut query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.query_string().as_bytes())
            .map(|(k, v)| (aws_encode(&k), aws_encode(&v)))
            .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let Some(value) = header(name) else {
            return false;
        };
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        request.method(),
        request.uri().path(),
        query.join("&"),
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{SECRET_ACCESS_KEY}").as_bytes(), date);
    for part in [REGION, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    hex::encode(hmac(&key, &to_sign)) == signature
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: request.method().to_string(),
        path: request
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        signature_valid: signed_correctly(&request, &body),
    });
    let path = percent_encoding::percent_decode_str(request.path())
        .decode_utf8_lossy()
        .to_string();
    let (bucket, key) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""));
    if bucket != BUCKET {
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
    }
    let method = request.method().as_str();
    if key.is_empty() {
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(request.query_string().as_bytes())
                .into_owned()
                .collect();
        if method != "GET" || query.get("list-type").map(String::as_str) != Some("2") {
            return s3_error(501, "NotImplemented", "Only ListObjectsV2 is faked");
        }
        let prefix = query.get("prefix").cloned().unwrap_or_default();
        let contents: String = state
            .objects
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(key, object)| {
                format!(
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified>\
                     <ETag>&quot;{}&quot;</ETag><Size>{}</Size>\
                     <StorageClass>STANDARD</StorageClass></Contents>",
                    xml_escape(key),
                    object.modified.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    object.etag,
                    object.bytes.len()
                )
            })
            .collect();
        let count = contents.matches("<Contents>").count();
        return HttpResponse::Ok()
            .content_type("application/xml")
            .body(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>{BUCKET}</Name><Prefix>{}</Prefix><KeyCount>{count}</KeyCount>\
                 <MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}\
                 </ListBucketResult>",
                xml_escape(&prefix)
            ));
    }
    match method {
        "PUT" => {
            let etag = hex::encode(&Sha256::digest(&body)[..16]);
            state.objects.insert(
                key.to_owned(),
                Object {
                    bytes: body.to_vec(),
                    etag: etag.clone(),
                    modified: Utc::now(),
                },
            );
            HttpResponse::Ok()
                .insert_header(("ETag", format!("\"{etag}\"")))
                .finish()
        }
        "GET" | "HEAD" => match state.objects.get(key) {
            None => s3_error(404, "NoSuchKey", "The specified key does not exist."),
            Some(object) => {
                let mut response = HttpResponse::Ok();
                response
                    .content_type("application/octet-stream")
                    .insert_header(("ETag", format!("\"{}\"", object.etag)))
                    .insert_header((
                        "Last-Modified",
                        object
                            .modified
                            .format("%a, %d %b %Y %H:%M:%S GMT")
                            .to_string(),
                    ));
                if method == "HEAD" {
                    response.no_chunking(object.bytes.len() as u64).finish()
                } else {
                    response.body(object.bytes.clone())
                }
            }
        },
        // S3 answers 204 whether or not the key existed.
        "DELETE" => {
            state.objects.remove(key);
            HttpResponse::NoContent().finish()
        }
        _ => s3_error(405, "MethodNotAllowed", "Not faked"),
    }
}

impl FakeS3 {
    /// Listen on a free local port, in a thread of its own.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let endpoint = super::fake_server::serve("fake S3", state.clone(), 32 << 20, handle);
        Self { endpoint, state }
    }

    /// The settings that point the app at this bucket, under `prefix`.
    pub fn settings(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("MEDIA_BUCKET_URL", format!("s3://{BUCKET}/{prefix}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// The bytes of the object `key`, if the bucket holds it.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        let state = self.state.lock().unwrap();
        state.objects.get(key).map(|o| o.bytes.clone())
    }

    /// Every key the bucket holds, in order.
    pub fn keys(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}
