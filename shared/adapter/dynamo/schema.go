package dynamo

// The single-table schema. The store builds its keys from these names and
// infra/ builds the CloudFormation table from Schema, so the two cannot drift.

// Attribute names shared by every item.
const (
	AttrPK      = "PK"
	AttrSK      = "SK"
	AttrTTL     = "expiresAt"
	AttrGSI1PK  = "GSI1PK"
	AttrGSI1SK  = "GSI1SK"
	AttrGSI2PK  = "GSI2PK"
	AttrGSI2SK  = "GSI2SK"
	AttrGSI3PK  = "GSI3PK"
	AttrGSI3SK  = "GSI3SK"
	AttrGSI4PK  = "GSI4PK"
	AttrGSI4SK  = "GSI4SK"
	IndexInbox  = "inbox"
	IndexByName = "byName"
	// IndexScheduled lists a workspace's scheduled messages, soonest first,
	// and its drafts waiting for review.
	IndexScheduled = "scheduled"
	// IndexLists pages through a sequence's runs by status and an
	// assignee's open manual tasks.
	IndexLists = "lists"
)

// Index describes one global secondary index.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
	// NonKeyAttributes are projected with INCLUDE; nil means ALL.
	NonKeyAttributes []string
}

// TableSchema is everything a deployment needs to know to create the table.
type TableSchema struct {
	PartitionKey string
	SortKey      string
	TTLAttribute string
	Indexes      []Index
}

// inboxProjection is what one inbox row needs. Keeping the projection small
// keeps a 25-row page inside a few 4 KB read units.
var inboxProjection = []string{
	"id", "contactId", "contactName", "status", "unread", "assigneeId",
	"labels", "channels", "preview", "lastMessageAt", "lastMessageDirection", "visitorOnlineUntil",
	"contactConsent", "consentMessageSent",
	"createdAt", "updatedAt", "version",
}

// Schema is the one definition of Parley's table.
var Schema = TableSchema{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	TTLAttribute: AttrTTL,
	Indexes: []Index{
		// The active inbox: only non-archived conversations carry GSI1 keys
		// (a sparse index), sorted by the ULID of their latest activity.
		{Name: IndexInbox, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK, NonKeyAttributes: inboxProjection},
		// The address book in name order and name prefix search, sharded by
		// the first letter of the name into 28 ordered shards (addressbook.go).
		// Projects everything: contacts are small and lists return them whole.
		{Name: IndexByName, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK, NonKeyAttributes: nil},
		// Sparse: only messages waiting to be sent (scheduled, or drafts for
		// review) carry its keys, so other message writes never touch it.
		{Name: IndexScheduled, PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK, NonKeyAttributes: []string{
			"id", "contactId", "kind", "direction", "channel", "body", "status", "sendAt", "timezone", "authorId", "automated", "createdAt", "updatedAt",
		}},
		// Sparse (runs and open tasks only); ALL, so a page needs no table reads.
		{Name: IndexLists, PartitionKey: AttrGSI4PK, SortKey: AttrGSI4SK, NonKeyAttributes: nil},
	},
}
