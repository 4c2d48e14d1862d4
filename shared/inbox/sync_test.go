package inbox_test

import (
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestWhatChanged(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	base := func() *inbox.Conversation {
		return &inbox.Conversation{ID: "c1", ContactID: "k1", ContactName: "Ann", Status: inbox.StatusOpen, Unread: true,
			Labels: []string{"l1"}, Channels: []inbox.Channel{inbox.ChannelSMS}, Preview: "hi", ActivityID: "a1", UpdatedAt: at, Version: 3}
	}
	tests := []struct {
		name   string
		change func(c *inbox.Conversation)
		want   []string
	}{
		{"nothing", func(*inbox.Conversation) {}, nil},
		{"status", func(c *inbox.Conversation) { c.Status = inbox.StatusComplete }, []string{"status"}},
		{"archived", func(c *inbox.Conversation) { c.Archived = true }, []string{"archived"}},
		{"read", func(c *inbox.Conversation) { c.Unread = false }, []string{"unread"}},
		{"assignee", func(c *inbox.Conversation) { c.AssigneeID = "u1" }, []string{"assignee"}},
		{"label added", func(c *inbox.Conversation) { c.Labels = []string{"l1", "l2"} }, []string{"labels"}},
		{"label removed", func(c *inbox.Conversation) { c.Labels = []string{} }, []string{"labels"}},
		{"channel", func(c *inbox.Conversation) { c.Channels = append(c.Channels, inbox.ChannelEmail) }, []string{"channels"}},
		{"contact renamed", func(c *inbox.Conversation) { c.ContactName = "Ann Lee" }, []string{"contact"}},
		{"contact merged", func(c *inbox.Conversation) { c.ContactID = "k2" }, []string{"contact"}},
		{"new message", func(c *inbox.Conversation) { c.ActivityID, c.Preview = "a2", "again" }, []string{"lastMessage"}},
		{"reordered by activity only", func(c *inbox.Conversation) { c.ActivityID = "a2" }, []string{"lastMessage"}},
		{"heartbeat and internals", func(c *inbox.Conversation) {
			until := at.Add(time.Minute)
			c.VisitorOnlineUntil, c.UpdatedAt, c.Version = &until, at.Add(time.Second), 4
			c.LastInboundAt = map[inbox.Channel]time.Time{inbox.ChannelSMS: at}
			c.RecentRequests = []string{"r1"}
		}, nil},
		{"several, in a fixed order", func(c *inbox.Conversation) {
			c.Preview, c.AssigneeID, c.Status, c.Unread = "bye", "u1", inbox.StatusComplete, false
		}, []string{"status", "unread", "assignee", "lastMessage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := base()
			tt.change(after)
			if got := inbox.WhatChanged(base(), after); !slices.Equal(got, tt.want) {
				t.Errorf("WhatChanged = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	margin := 5 * time.Second
	hourAgo := now.Add(-time.Hour)
	seq := ulid.MustNew(ulid.Timestamp(hourAgo.Add(123*time.Millisecond)), ulid.DefaultEntropy()).String()
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"an event's seq", seq, hourAgo.Add(123*time.Millisecond - margin)},
		{"RFC 3339", "2026-05-06T06:08:09Z", hourAgo.Add(-margin)},
		{"RFC 3339 with nanoseconds", "2026-05-06T06:08:09.000000123Z", hourAgo.Add(123*time.Nanosecond - margin)},
		{"RFC 3339 with an offset", "2026-05-06T08:08:09+02:00", hourAgo.Add(-margin)},
		{"just inside the log", now.Add(-inbox.ChangeLogRetention + margin).Format(time.RFC3339), now.Add(-inbox.ChangeLogRetention)},
		{"in the future", "2026-05-07T07:08:09Z", now.Add(24*time.Hour - margin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inbox.ParseSince(tt.in, now)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}

	eightDaysAgo := now.Add(-8 * 24 * time.Hour)
	refused := []struct {
		name, in string
		want     inbox.Kind
	}{
		{"empty", "", inbox.KindInvalid},
		{"garbage", "yesterday", inbox.KindInvalid},
		{"a date without a time", "2026-05-06", inbox.KindInvalid},
		{"a time without a zone", "2026-05-06T06:08:09", inbox.KindInvalid},
		{"a seq one character short", seq[:25], inbox.KindInvalid},
		{"a seq past the ULID range", "8" + seq[1:], inbox.KindInvalid},
		{"unix seconds", "1778051289", inbox.KindInvalid},
		{"a seq older than the log", ulid.MustNew(ulid.Timestamp(eightDaysAgo), ulid.DefaultEntropy()).String(), inbox.KindGone},
		{"a time older than the log", eightDaysAgo.Format(time.RFC3339), inbox.KindGone},
		{"exactly the log's age", now.Add(-inbox.ChangeLogRetention).Format(time.RFC3339), inbox.KindGone},
		{"the zero time", "0001-01-01T00:00:00Z", inbox.KindGone},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inbox.ParseSince(tt.in, now)
			if kind := inbox.ErrorKind(err); err == nil || kind != tt.want {
				t.Errorf("ParseSince(%q) = %v, %v (kind %q); want kind %q", tt.in, got, err, kind, tt.want)
			}
		})
	}
}

func FuzzParseSince(f *testing.F) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, s := range []string{
		"", "yesterday", "2026-05-06T06:08:09Z", "2026-05-06T06:08:09.123456789+02:00", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String(),
		"00000000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := inbox.ParseSince(s, now)
		_, ulidErr := ulid.ParseStrict(s)
		_, timeErr := time.Parse(time.RFC3339Nano, s)
		switch kind := inbox.ErrorKind(err); {
		case err == nil:
			if ulidErr != nil && timeErr != nil {
				t.Fatalf("ParseSince(%q) accepted something that is neither a seq nor an RFC 3339 time: %v", s, got)
			}
			if now.Sub(got) > inbox.ChangeLogRetention {
				t.Fatalf("ParseSince(%q) = %v, older than the change log", s, got)
			}
		case kind == inbox.KindInvalid:
			if ulidErr == nil || timeErr == nil {
				t.Fatalf("ParseSince(%q) refused a well-formed value: %v", s, err)
			}
		case kind == inbox.KindGone:
			if ulidErr != nil && timeErr != nil {
				t.Fatalf("ParseSince(%q) called garbage too old rather than invalid", s)
			}
		default:
			t.Fatalf("ParseSince(%q) failed with kind %q: %v", s, kind, err)
		}
	})
}
