package inbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// A visitor proves an address by a one-time code emailed to it. Codes are
// kept per address, not per visitor, so the limits hold however many chat
// sessions a guesser opens.
const (
	emailCodeTTL = 10 * time.Minute
	// emailCodeWindow is the period the send and failure limits count over;
	// an address locked by wrong guesses unlocks when it ends.
	emailCodeWindow   = time.Hour
	maxEmailCodeSends = 5
	// maxEmailCodeFailures wrong codes lock the address: 5 guesses an hour
	// at a million codes.
	maxEmailCodeFailures = 5
	emailCodeDigits      = 6
)

// EmailCode is the verification state of one address in a workspace.
type EmailCode struct {
	WorkspaceID string `json:"-"`
	Address     string `json:"address"`
	// Handle is the visitor the current code was sent to; only they can use it.
	Handle string `json:"handle"`
	// CodeHash is the code hashed with the workspace, address and handle.
	CodeHash  string    `json:"codeHash"`
	ExpiresAt time.Time `json:"codeExpiresAt"`
	// Used marks a code that verified; repeating it repeats the success.
	Used        bool      `json:"used,omitempty"`
	WindowStart time.Time `json:"windowStart"`
	Sends       int       `json:"sends"`
	Failures    int       `json:"failures"`
	Version     int64     `json:"version"`
}

// EmailCodes stores verification codes.
type EmailCodes interface {
	// GetEmailCode fails with KindNotFound when no code was sent to the address.
	GetEmailCode(ctx context.Context, workspaceID, address string) (*EmailCode, error)
	// PutEmailCode creates (Version 0) or replaces (matching Version) the
	// state, kept until Forget; ErrVersionConflict when it changed meanwhile.
	// A state past Forget may still be read: its window has ended.
	PutEmailCode(ctx context.Context, c *EmailCode) error
}

// Forget returns the time the state may be deleted.
func (c *EmailCode) Forget() time.Time {
	end := c.WindowStart.Add(emailCodeWindow)
	if c.ExpiresAt.After(end) {
		return c.ExpiresAt
	}
	return end
}

func (c *EmailCode) newWindow(now time.Time) {
	if now.Sub(c.WindowStart) >= emailCodeWindow {
		c.WindowStart, c.Sends, c.Failures = now, 0, 0
	}
}

var errEmailLocked = &Error{Kind: "rate_limited", Message: "too many wrong codes for this address; try again in an hour"}

func emailCodeHash(workspaceID, addr, handle, code string) string {
	sum := sha256.Sum256([]byte("parley-email-code\x00" + workspaceID + "\x00" + addr + "\x00" + handle + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// SendEmailCode records the visitor's claim of an address and emails it a
// one-time code. A new code replaces the previous one.
func (s *WebChat) SendEmailCode(ctx context.Context, workspaceID, handle, email string) (*EmailClaim, error) {
	claim, err := s.ClaimEmail(ctx, workspaceID, handle, email)
	if err != nil || claim.Verified {
		return claim, err
	}
	addr, now := claim.Address, s.now()
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return nil, Internal(err)
	}
	code := fmt.Sprintf("%0*d", emailCodeDigits, n.Int64())
	err = retryOnConflict(ctx, func() error {
		c, err := s.store.GetEmailCode(ctx, workspaceID, addr)
		if IsKind(err, KindNotFound) {
			c, err = &EmailCode{WorkspaceID: workspaceID, Address: addr, WindowStart: now}, nil
		}
		if err != nil {
			return err
		}
		c.newWindow(now)
		switch {
		case c.Failures >= maxEmailCodeFailures:
			return errEmailLocked
		case c.Sends >= maxEmailCodeSends:
			return &Error{Kind: "rate_limited", Message: "too many codes sent to this address; try again in an hour"}
		}
		c.Handle, c.CodeHash, c.ExpiresAt, c.Used = handle, emailCodeHash(workspaceID, addr, handle, code), now.Add(emailCodeTTL), false
		c.Sends++
		return s.store.PutEmailCode(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf("Your verification code is %s.\n\nEnter it in the chat within %d minutes to confirm this address. "+
		"If you did not ask for it, ignore this email: nothing changes without the code.", code, int(emailCodeTTL/time.Minute))
	msg := &Message{ID: NewID(now), WorkspaceID: workspaceID, Direction: DirectionOut, Kind: KindMessage, Channel: ChannelEmail,
		Body: body, Attachments: []Attachment{}, Recipient: addr, CreatedAt: now, UpdatedAt: now}
	if _, err := sendWithBackoff(ctx, s.email, Outbound{WorkspaceID: workspaceID, Message: msg, To: addr, Subject: "Your verification code"}); err != nil {
		return nil, &Error{Kind: KindUnavailable, Message: "the code could not be emailed; try again later", Err: err}
	}
	return claim, nil
}

// VerifyEmailCode checks a code the visitor typed and, when it is the one
// sent to them, joins them as the address's owner. Repeating a verified
// code repeats the success, so a retry completes a half-done join.
func (s *WebChat) VerifyEmailCode(ctx context.Context, workspaceID, handle, email, code string) (*Contact, error) {
	addr, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	if len(code) != emailCodeDigits || !allDigits(code) {
		return nil, Invalid("code", "the code is the %d digits from the email", emailCodeDigits)
	}
	now := s.now()
	err = retryOnConflict(ctx, func() error {
		c, err := s.store.GetEmailCode(ctx, workspaceID, addr)
		if IsKind(err, KindNotFound) {
			return &Error{Kind: KindForbidden, Field: "code", Message: "no code was sent to this address; request one"}
		}
		if err != nil {
			return err
		}
		c.newWindow(now)
		if c.Failures >= maxEmailCodeFailures {
			return errEmailLocked
		}
		match := c.Handle == handle && subtle.ConstantTimeCompare([]byte(c.CodeHash), []byte(emailCodeHash(workspaceID, addr, handle, code))) == 1
		switch {
		case match && c.Used:
			return nil
		case match && now.Before(c.ExpiresAt):
			c.Used = true
			return s.store.PutEmailCode(ctx, c)
		}
		c.Failures++
		if err := s.store.PutEmailCode(ctx, c); err != nil {
			return err
		}
		return &Error{Kind: KindForbidden, Field: "code", Message: "the code is wrong or has expired"}
	})
	if err != nil {
		return nil, err
	}
	return s.joinEmail(ctx, workspaceID, handle, addr)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
