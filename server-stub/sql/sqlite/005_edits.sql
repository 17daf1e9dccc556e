-- SQLite migration 5: edits and deletes (issue 18; chat_wire.hpp, chat.message.updated).
--   Conversations.EditRev  the change counter: one per edit or delete, under the writer's lock;
--   Messages.Version       EditRev at the message's last change (0: never changed);
--   Messages.EditedAt      when its text last changed; DeletedAt: when it became a tombstone;
--   Messages.BlobId        the blob its attachment links (a delete removes it), filled here for
--                          the messages stored before this migration.
ALTER TABLE Conversations ADD COLUMN EditRev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE Messages ADD COLUMN Version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE Messages ADD COLUMN EditedAt INTEGER;
ALTER TABLE Messages ADD COLUMN DeletedAt INTEGER;
ALTER TABLE Messages ADD COLUMN BlobId TEXT;
UPDATE Messages SET BlobId = substr(json_extract(AttachmentJson, '$.url'), 8, 25)
 WHERE AttachmentJson IS NOT NULL AND json_valid(AttachmentJson)
   AND json_extract(AttachmentJson, '$.url') GLOB '/blobs/blob_[0-9a-f]*';
CREATE INDEX MessagesChanged ON Messages(ConversationId, Version) WHERE Version > 0;
CREATE INDEX MessagesBlob ON Messages(BlobId) WHERE BlobId IS NOT NULL;
