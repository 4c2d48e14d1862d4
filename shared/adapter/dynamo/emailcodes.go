package dynamo

import (
	"context"

	"github.com/parley-inbox/parley/shared/inbox"
)

// emailCodeItem keeps a web chat email verification until its window ends
// (the table's TTL then deletes it).
type emailCodeItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.EmailCode
	TTL int64 `json:"expiresAt"`
}

const skEmailCode = "#EMAILCODE"

func emailCodePK(ws, addr string) string { return workspacePK(ws) + "#EMAILCODE#" + addr }

func (s *Store) GetEmailCode(ctx context.Context, ws, addr string) (*inbox.EmailCode, error) {
	var it emailCodeItem
	ok, err := s.getItem(ctx, "GetEmailCode", key(emailCodePK(ws, addr), skEmailCode), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("email code", addr)
	}
	c := it.EmailCode
	c.WorkspaceID = ws
	return &c, nil
}

func (s *Store) PutEmailCode(ctx context.Context, c *inbox.EmailCode) error {
	next := *c
	next.Version++
	item, err := marshal(emailCodeItem{PK: emailCodePK(c.WorkspaceID, c.Address), SK: skEmailCode, EmailCode: next, TTL: next.Forget().Unix()})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutEmailCode", item, c.Version); err != nil {
		return err
	}
	c.Version = next.Version
	return nil
}
