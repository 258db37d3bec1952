//! "Export my data" through the engine against a real server: the zip is streamed to the chosen
//! file and holds the account's own messages and files, nobody else's; a refused export leaves no
//! file behind.

use crate::support::{PASSWORD, engine, start};
use jeco_client::{Engine, FileToSend};
use jeco_shared::ErrorCode;
use jeco_shared::export::{ExportProfile, ExportedMessage};
use std::io::Read;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn delivered(engine: &Engine) {
    engine.wait_outbox_drained(WAIT).await.unwrap();
    assert!(engine.outbox(None).unwrap().is_empty());
}

fn entry(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} is in the zip"))
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_downloaded_to_a_file_with_my_messages_and_files() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), &dirs.path().join("ada"));
    let bob = engine(server.base(), &dirs.path().join("bob"));
    let ada_me = ada.register("ada", PASSWORD, None).await.unwrap();
    let bob_me = bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    let group = ada.create_group("Crew", &[bob_me.id]).await.unwrap();
    ada.send(group.id, "ada's first", None).unwrap();
    delivered(&ada).await;
    bob.send(group.id, "bob's words", None).unwrap();
    delivered(&bob).await;
    let file = dirs.path().join("notes.txt");
    let bytes = b"Notes on the analytical engine".repeat(1000);
    std::fs::write(&file, &bytes).unwrap();
    ada.send_files(group.id, "with notes", None, &[FileToSend::new(&file)])
        .unwrap();
    delivered(&ada).await;

    let to = dirs.path().join("out").join("ada-export.zip");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let size = ada.export_my_data(&to).await.unwrap();
    assert_eq!(std::fs::metadata(&to).unwrap().len(), size);
    assert!(
        !to.with_file_name("ada-export.zip.part").exists(),
        "the partial file is renamed"
    );

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&to).unwrap()).unwrap();
    let profile: ExportProfile = serde_json::from_slice(&entry(&mut zip, "profile.json")).unwrap();
    assert_eq!(profile.user.id, ada_me.id);
    let messages: Vec<ExportedMessage> =
        serde_json::from_slice(&entry(&mut zip, "messages.json")).unwrap();
    let texts: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(texts, ["ada's first", "with notes"]);
    assert!(messages.iter().all(|m| m.conversation_id == group.id));
    let attached = &messages[1].attachments;
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].name, "notes.txt");
    assert_eq!(entry(&mut zip, &attached[0].path), bytes);
    assert_eq!(zip.len(), 3);

    // An export into a folder that does not exist fails and leaves nothing.
    let nowhere = dirs.path().join("missing").join("x.zip");
    let e = ada.export_my_data(&nowhere).await.unwrap_err();
    assert!(!nowhere.exists(), "{e}");

    // The folder is refused before the server is asked, so that cost no export: two more fit
    // the hour, the fourth is refused with a typed error and the file saved last stays whole.
    ada.export_my_data(&to).await.unwrap();
    let last = ada.export_my_data(&to).await.unwrap();
    let e = ada.export_my_data(&to).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited, "{e}");
    assert_eq!(std::fs::metadata(&to).unwrap().len(), last);
    assert!(!to.with_file_name("ada-export.zip.part").exists());
    zip::ZipArchive::new(std::fs::File::open(&to).unwrap()).expect("still a whole zip");
}
