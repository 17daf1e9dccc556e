-- SQLite migration 7: replies (issue 18). A reply links the message it answers, in the same
-- conversation: its id and its seq (where a client pages to). Only the link is stored: the
-- quote is read from the parent as it is now, so its edits and deletes show in every reply.
ALTER TABLE Messages ADD COLUMN ReplyToId TEXT;
ALTER TABLE Messages ADD COLUMN ReplyToSeq INTEGER;
