-- PostgreSQL migration 3: edits and deletes, as SQLite's migration 5 (sql/sqlite/005_edits.sql).
ALTER TABLE Conversations ADD COLUMN EditRev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE Messages ADD COLUMN Version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE Messages ADD COLUMN EditedAt BIGINT;
ALTER TABLE Messages ADD COLUMN DeletedAt BIGINT;
ALTER TABLE Messages ADD COLUMN BlobId TEXT COLLATE "C";
UPDATE Messages SET BlobId = substr((AttachmentJson::json)->>'url', 8, 25)
 WHERE AttachmentJson IS NOT NULL AND ((AttachmentJson::json)->>'url') ~ '^/blobs/blob_[0-9a-f]{20}';
CREATE INDEX MessagesChanged ON Messages(ConversationId, Version) WHERE Version > 0;
CREATE INDEX MessagesBlob ON Messages(BlobId) WHERE BlobId IS NOT NULL;
