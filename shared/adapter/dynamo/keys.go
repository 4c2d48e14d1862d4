package dynamo

import (
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Key layout. Everything starts with "WS#<workspace>", so no key can reach
// another tenant's items. Entities with their own partition (contacts,
// conversations) spread load; small per-workspace lists (users, labels)
// share the workspace partition so one Query lists them.
//
//	WS#w                      #WORKSPACE        workspace and settings
//	WS#w                      USER#u            team member
//	WS#w                      LABEL#l           label
//	WS#w                      CAMPAIGN#c        drip campaign
//	WS#w                      AUTOMATION#a      automation
//	WS#w                      RUNCOUNT#s        run counts of a campaign or automation, by status
//	WS#w                      LIST#l            static contact list, with its member count (lists.go)
//	WS#w#LIST#l               C#c               list member: contact id and name, one Query per page
//	WS#w#LABELNAME#name       #UNIQUE           label name claim
//	WS#w#CONTACT#c            #CONTACT          contact (GSI2: name order, 28 shards; see addressbook.go)
//	WS#w#SNIPPET#s            #SNIPPET          snippet (GSI2: WS#w#SNIPPETS by name; GSI4: WS#w#SNIPCAT#<category> by name)
//	WS#w#SHORTCUTS            <shortcut>        snippet shortcut claim, a copy of the snippet (shortcut prefix search)
//	WS#w#CONTACT#c            #CONSENT#<ch>     current consent on a channel (read with the contact)
//	WS#w#CONTACT#c            CONSENTLOG#r      consent history entry, r a ULID
//	WS#w#CONTACT#c            RUN#r             sequence run, r a ULID (GSI4: sequence's runs by status)
//	WS#w#TASK#t               #TASK             manual task (GSI4 while open: assignee's queue)
//	WS#w#PHONE#+1415...       #UNIQUE           phone claim -> contact
//	WS#w#EMAIL#a@b.c          #UNIQUE           email claim -> contact
//	WS#w#HANDLE#messenger:id  #UNIQUE           channel handle claim -> contact
//	  (contact claims also carry the contact's conversation id, so routing
//	  an inbound message is one read)
//	WS#w#CONV#v               #CONV             conversation (GSI1: inbox)
//	WS#w#CONV#v               MSG#m             message, m a ULID
//	WS#w#CONV#v               PAY#p             payment request, p a ULID (payments.go)
//	WS#w#IDEM#h               #IDEM             API idempotency record (TTL)
//	WS#w#TAGS                 TAG#<lower>#<tag> tag catalog entry: name, count
//	WS#w#PROVIDER#sms#SM...   #UNIQUE           provider message id -> message
//
// The sparse "lists" index (GSI4) holds only runs, open tasks and snippets:
//
//	WS#w#SEQ#s                <status>#r        a sequence's runs of one status, oldest first
//	WS#w#QUEUE#u              t                 an assignee's open tasks (u a user or "unassigned")
//	WS#w#SNIPCAT#<category>   <name>\x01s       a category's snippets, by name
const (
	skWorkspace    = "#WORKSPACE"
	skContact      = "#CONTACT"
	skConversation = "#CONV"
	skUnique       = "#UNIQUE"
	skIdempotency  = "#IDEM"
	prefixUser     = "USER#"
	prefixLabel    = "LABEL#"
	prefixMessage  = "MSG#"
)

func workspacePK(ws string) string        { return "WS#" + ws }
func contactPK(ws, id string) string      { return workspacePK(ws) + "#CONTACT#" + id }
func conversationPK(ws, id string) string { return workspacePK(ws) + "#CONV#" + id }
func phonePK(ws, e164 string) string      { return workspacePK(ws) + "#PHONE#" + e164 }
func emailPK(ws, email string) string     { return workspacePK(ws) + "#EMAIL#" + email }

// providerRefPK is scoped by channel family: SMS and MMS share Twilio ids.
func providerRefPK(ws string, ch inbox.Channel, id string) string {
	return workspacePK(ws) + "#PROVIDER#" + string(ch.ConsentChannel()) + "#" + id
}
func handlePK(ws, handle string) string { return workspacePK(ws) + "#HANDLE#" + handle }
func labelNamePK(ws, name string) string {
	return workspacePK(ws) + "#LABELNAME#" + strings.ToLower(name)
}
func idempotencyPK(ws, hash string) string     { return workspacePK(ws) + "#IDEM#" + hash }
func inboxPK(ws string) string                 { return workspacePK(ws) + "#INBOX" }
func messageSK(id string) string               { return prefixMessage + id }
func nameShardPK(ws string, key string) string { return workspacePK(ws) + "#NAME#" + nameShard(key) }
