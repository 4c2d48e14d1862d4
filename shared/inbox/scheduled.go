package inbox

import (
	"context"
	"errors"
	"time"
)

// ScheduledMessages lists the workspace's messages waiting to be sent,
// soonest first.
func (s *Service) ScheduledMessages(ctx context.Context, actor Actor, p PageRequest) (Page[*Message], error) {
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	return s.Store.ListScheduled(ctx, actor.WorkspaceID, p)
}

// ScheduledEdit moves a scheduled message or rewrites its body.
type ScheduledEdit struct {
	SendAt   *time.Time `json:"sendAt"`
	Timezone *string    `json:"timezone"`
	Body     *string    `json:"body"`
}

func (s *Service) scheduledMessage(ctx context.Context, actor Actor, conversationID, id string) (*Message, error) {
	if !ValidID(id) || !ValidID(conversationID) {
		return nil, Errorf(KindNotFound, "message %q not found", id)
	}
	m, err := s.Store.GetMessage(ctx, actor.WorkspaceID, conversationID, id)
	if err != nil {
		return nil, err
	}
	if m.Status != MessageScheduled {
		return nil, Errorf(KindConflict, "the message is %s, not scheduled: it can no longer be changed", m.Status)
	}
	return m, nil
}

// EditScheduled changes a scheduled message before it is sent; the
// schedule moves with it.
func (s *Service) EditScheduled(ctx context.Context, actor Actor, conversationID, id string, e ScheduledEdit) (*Message, error) {
	m, err := s.scheduledMessage(ctx, actor, conversationID, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if e.SendAt != nil {
		at := e.SendAt.UTC()
		if !at.After(now) || at.Sub(now) > maxScheduleAge {
			return nil, Invalid("sendAt", "sendAt must be in the future and at most a year ahead")
		}
		m.SendAt = &at
	}
	if e.Timezone != nil {
		if err := validateTimezone("timezone", *e.Timezone); err != nil {
			return nil, err
		}
		m.Timezone = *e.Timezone
	}
	if e.Body != nil {
		body, err := validateBody(*e.Body, len(m.Attachments) == 0 && m.Template == nil)
		if err != nil {
			return nil, err
		}
		if err := CheckBodyLength(m.Channel, body); err != nil {
			return nil, err
		}
		m.Body = body
		if m.Channel.ConsentChannel() == ChannelSMS {
			m.Segments = SMSSegments(body)
		}
	}
	m.UpdatedAt = now
	if err := s.Store.ReplaceMessage(ctx, m, MessageScheduled); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, Errorf(KindConflict, "the message was sent or canceled meanwhile")
		}
		return nil, err
	}
	return m, s.schedule(ctx, m)
}

// CancelScheduled stops a scheduled message: it is marked canceled, then
// its schedule deleted. A schedule that fires anyway finds it canceled and
// sends nothing.
func (s *Service) CancelScheduled(ctx context.Context, actor Actor, conversationID, id string) (*Message, error) {
	m, err := s.scheduledMessage(ctx, actor, conversationID, id)
	if err != nil {
		return nil, err
	}
	m.Status, m.UpdatedAt = MessageCanceled, s.now()
	if err := s.Store.UpdateMessageStatus(ctx, m, MessageScheduled); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, Errorf(KindConflict, "the message is already being sent")
		}
		return nil, err
	}
	if s.Scheduler != nil {
		if err := s.Scheduler.Delete(ctx, ScheduleName(m)); err != nil {
			return nil, err
		}
	}
	return m, nil
}
