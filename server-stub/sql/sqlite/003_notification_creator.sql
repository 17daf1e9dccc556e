-- SQLite migration 3: who created a notification (an id is idempotent for its creator only);
-- blob quotas.
ALTER TABLE Notifications ADD COLUMN CreatedBy TEXT NOT NULL DEFAULT '';
CREATE INDEX BlobsUploader ON Blobs(UploaderId);
