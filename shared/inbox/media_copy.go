package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"sync"
)

// MediaCopy copies an inbound message's files from the provider into the
// media store, after the webhook has answered: the thread then shows the
// durable attachment, and the provider's copy may go.
type MediaCopy struct {
	core
	objects ObjectStore
	sources map[Channel]MediaSource
	// skipped hears of a file left as it was: the provider refused it or
	// no longer has it, or it is over the channel's limit.
	skipped func(ctx context.Context, m *Message, n int, err error)
}

// NewMediaCopy copies inbound files from sources, one per channel, into
// objects.
func NewMediaCopy(store Store, clock Clock, objects ObjectStore, sources map[Channel]MediaSource) *MediaCopy {
	c := &MediaCopy{core: newCore(store, clock), objects: objects, sources: sources}
	// One Twilio account's setting is read per minute, not per message.
	c.settingsCache = &sync.Map{}
	return c
}

// OnSkip sets what hears of a file that is left as it was (for a log);
// such a file is not retried.
func (c *MediaCopy) OnSkip(f func(ctx context.Context, m *Message, n int, err error)) { c.skipped = f }

func (c *MediaCopy) skip(ctx context.Context, m *Message, n int, err error) {
	if c.skipped != nil {
		c.skipped(ctx, m, n, err)
	}
}

// Copy copies the message's files that are still the provider's and
// stores their keys with one update of the attachments. A file already
// copied is skipped, and a repeated copy rewrites the same keys, so a
// redelivered event is harmless. A file the provider refuses or no longer
// has (KindInvalid, KindNotFound) stays as it was; any other failure is
// returned so the caller retries.
func (c *MediaCopy) Copy(ctx context.Context, workspaceID, conversationID, messageID string) (*Message, error) {
	m, err := c.store.GetMessage(ctx, workspaceID, conversationID, messageID)
	if err != nil {
		return nil, err
	}
	src := c.sources[m.Channel]
	if m.Direction != DirectionIn || src == nil {
		return m, nil
	}
	orig := *m
	orig.Attachments = append([]Attachment(nil), m.Attachments...)
	atts := append([]Attachment(nil), m.Attachments...)
	var copied []int
	for n := range atts {
		if atts[n].Key != "" {
			continue
		}
		a, err := c.copyOne(ctx, src, &orig, n)
		if IsKind(err, KindInvalid) || IsKind(err, KindNotFound) {
			c.skip(ctx, &orig, n, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		atts[n] = a
		copied = append(copied, n)
	}
	if len(copied) == 0 {
		return m, nil
	}
	m.Attachments, m.UpdatedAt = atts, c.now()
	// A copy running at the same time (a redelivered event) may have
	// stored first: then this one conflicts and its retry finds the keys.
	if err := c.store.SetAttachments(ctx, m, orig.Attachments); err != nil {
		return nil, err
	}
	if f, ok := src.(MediaForgetter); ok {
		settings, err := c.settings(ctx, workspaceID)
		if err != nil {
			return nil, err
		}
		if settings.DeleteProviderMedia {
			// Best effort: the update above already dropped the provider's
			// address, so a retry could not find the file again.
			for _, n := range copied {
				if err := f.Forget(ctx, &orig, n); err != nil {
					c.skip(ctx, &orig, n, fmt.Errorf("the provider's copy was not deleted: %w", err))
				}
			}
		}
	}
	return m, nil
}

// copyOne stores the n-th file at its inbound key and returns the
// attachment that refers to it.
func (c *MediaCopy) copyOne(ctx context.Context, src MediaSource, m *Message, n int) (Attachment, error) {
	a := m.Attachments[n]
	body, reported, err := src.Open(ctx, m, n)
	if err != nil {
		return a, err
	}
	defer body.Close()
	ct := bareType(a.ContentType)
	if ct == "" || ct == "application/octet-stream" {
		if r := bareType(reported); r != "" {
			ct = r
		}
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	limit := fileLimit(m.Channel, ct)
	if limit == 0 {
		limit = maxUploadBytes
	}
	key := InboundMediaKey(m.WorkspaceID, m.ID, n)
	var size int64
	err = c.objects.Put(ctx, key, ct, func(w io.Writer) error {
		size, err = io.Copy(w, io.LimitReader(body, limit+1))
		var kinded *Error
		if errors.As(err, &kinded) {
			return err // the source's bound (KindInvalid) or its own failure
		}
		if err != nil {
			return &Error{Kind: KindUnavailable, Message: "the file could not be read from the provider", Err: err}
		}
		if size > limit {
			return Invalid("attachments", "the file is over %s, the %s limit", formatBytes(limit), m.Channel)
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	a.Key, a.Size, a.ContentType, a.URL = key, size, ct, ""
	return a, nil
}

// bareType is contentType without parameters, or "" when it is not a
// media type.
func bareType(contentType string) string {
	if contentType == "" || len(contentType) > maxContentTypeLen {
		return ""
	}
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return t
}
