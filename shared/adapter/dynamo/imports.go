package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Contact imports:
//
//	WS#w#IMPORT#i   #IMPORT   an import job: its checkpoint and counts (TTL 7 days)
const skImport = "#IMPORT"

func importPK(ws, id string) string { return workspacePK(ws) + "#IMPORT#" + id }

type importItem struct {
	PK  string `json:"PK"`
	SK  string `json:"SK"`
	TTL int64  `json:"expiresAt"`
	inbox.ContactImport
}

var _ inbox.ImportStore = (*Store)(nil)

// PutImport writes the job (1 WRU): created, then at each checkpoint.
func (s *Store) PutImport(ctx context.Context, im *inbox.ContactImport) error {
	if !safeKeyPart(im.WorkspaceID) || !safeKeyPart(im.ID) {
		return inbox.Invalid("id", "bad import key")
	}
	stored := *im
	stored.ReportURL, stored.ReportExpires = "", nil
	item, err := marshal(importItem{PK: importPK(im.WorkspaceID, im.ID), SK: skImport, TTL: im.ExpiresAt.Unix(), ContactImport: stored})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutImport", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) GetImport(ctx context.Context, ws, id string) (*inbox.ContactImport, error) {
	if !safeKeyPart(ws) || !safeKeyPart(id) {
		return nil, notFound("import", id)
	}
	var it importItem
	ok, err := s.getItem(ctx, "GetImport", key(importPK(ws, id), skImport), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok || it.TTL > 0 && it.TTL < s.nowUnix() {
		return nil, notFound("import", id)
	}
	im := it.ContactImport
	return &im, nil
}
