package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

func (a *API) me(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	me := map[string]any{"workspaceId": actor.WorkspaceID, "userId": actor.UserID, "role": string(actor.Role)}
	if actor.IsMachine() {
		me["clientId"], me["name"], me["scopes"] = actor.ClientID, actor.Name, strings.Fields(actor.Scopes)
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (a *API) getWorkspace(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	ws, err := a.svc.Workspace(r.Context(), actor)
	if err != nil {
		return err
	}
	setETag(w, ws.Version)
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (a *API) updateWorkspace(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.WorkspaceSettingsPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	in.IfMatch = v
	ws, err := a.svc.UpdateSettings(r.Context(), actor, in)
	if err != nil {
		return err
	}
	setETag(w, ws.Version)
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	users, err := a.svc.Users(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.User]{Items: users})
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.UserInput
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := a.svc.PutUser(r.Context(), actor, r.PathValue("userId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// ---- contacts ----

func (a *API) createContact(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ContactInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.svc.CreateContact(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) searchContacts(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = q.Get("q") // the name prefix's short form
	} else if q.Get("q") != "" {
		return inbox.Invalid("q", "q and name are the same search; send one")
	}
	found, err := a.svc.ListContacts(r.Context(), actor, inbox.ContactQuery{Phone: q.Get("phone"), Email: q.Get("email"), Name: name}, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, found)
	return nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	c, err := a.svc.GetContact(r.Context(), actor, r.PathValue("contactId"))
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) updateContact(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ContactPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	in.IfMatch = v
	c, err := a.svc.UpdateContact(r.Context(), actor, r.PathValue("contactId"), in)
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) addContactTag(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.AddContactTag(r.Context(), actor, r.PathValue("contactId"), r.PathValue("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeContactTag(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.RemoveContactTag(r.Context(), actor, r.PathValue("contactId"), r.PathValue("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.Tags(r.Context(), actor, r.URL.Query().Get("prefix"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) removeHandle(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if _, err := a.svc.RemoveHandle(r.Context(), actor, r.PathValue("contactId"), r.PathValue("handle")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) acceptClaimedEmail(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		Address string `json:"address"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.svc.AcceptClaimedEmail(r.Context(), actor, r.PathValue("contactId"), in.Address)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) dismissClaimedEmail(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if _, err := a.svc.DismissClaimedEmail(r.Context(), actor, r.PathValue("contactId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setConsent(status inbox.ConsentStatus) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		var in struct {
			Channel string `json:"channel"`
		}
		if err := decode(r, &in); err != nil {
			return err
		}
		c, err := a.svc.SetConsent(r.Context(), actor, r.PathValue("contactId"), in.Channel, status)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) listContactConsent(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.ConsentHistory(r.Context(), actor, r.PathValue("contactId"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// ---- conversations ----

func (a *API) startConversation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.StartInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, created, err := a.svc.StartConversation(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, createdOrOK(created), c)
	return nil
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if since := q.Get("updatedSince"); since != "" {
		for _, filter := range []string{"status", "assignee", "label", "channel", "unread"} {
			if q.Has(filter) {
				return inbox.Invalid("updatedSince", "updatedSince lists every change; it takes no %s filter", filter)
			}
		}
		page, err := a.svc.SyncConversations(r.Context(), actor, since, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	}
	f := inbox.InboxFilter{
		Status:   inbox.ConversationStatus(q.Get("status")),
		Assignee: q.Get("assignee"),
		Label:    q.Get("label"),
		Channel:  inbox.Channel(q.Get("channel")),
	}
	switch f.Assignee {
	case inbox.Unassigned: // the API's one sentinel, as in the tasks' filter
		f.Assignee = inbox.AssigneeNone
	case inbox.AssigneeNone:
		return inbox.Invalid("assignee", "for unassigned conversations use assignee=%s", inbox.Unassigned)
	}
	if s := q.Get("unread"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return inbox.Invalid("unread", "unread must be true or false")
		}
		f.Unread = &b
	}
	page, err := a.svc.Inbox(r.Context(), actor, f, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) searchConversations(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	found, err := a.svc.SearchConversations(r.Context(), actor, r.URL.Query().Get("q"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, found)
	return nil
}

func (a *API) bulkArchive(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	results, err := a.svc.BulkArchive(r.Context(), actor, in.IDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	c, err := a.svc.GetConversation(r.Context(), actor, r.PathValue("conversationId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) deleteConversation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteConversation(r.Context(), actor, r.PathValue("conversationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// conversationChange is one of the body-less state changes.
type conversationChange func(ctx context.Context, actor inbox.Actor, id string) (*inbox.Conversation, error)

// with fixes the value argument of a Service setter.
func with[V any](set func(context.Context, inbox.Actor, string, V) (*inbox.Conversation, error), v V) conversationChange {
	return func(ctx context.Context, actor inbox.Actor, id string) (*inbox.Conversation, error) {
		return set(ctx, actor, id, v)
	}
}

// conversationRemoval is a DELETE of part of a conversation: 204, no body.
func (a *API) conversationRemoval(change conversationChange) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		if _, err := change(r.Context(), actor, r.PathValue("conversationId")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) conversationAction(change conversationChange) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		c, err := change(r.Context(), actor, r.PathValue("conversationId"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) assign(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		AssigneeID string `json:"assigneeId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AssigneeID == "" {
		return inbox.Invalid("assigneeId", "assigneeId is required; DELETE the assignee to unassign")
	}
	c, err := a.svc.Assign(r.Context(), actor, r.PathValue("conversationId"), in.AssigneeID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) addLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	c, err := a.svc.AddLabel(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("labelId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) removeLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if _, err := a.svc.RemoveLabel(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("labelId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- messages ----

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	if since := r.URL.Query().Get("updatedSince"); since != "" {
		if r.URL.Query().Has("order") {
			return inbox.Invalid("updatedSince", "updatedSince lists changes oldest first; it takes no order")
		}
		page, err := a.svc.SyncMessages(r.Context(), actor, r.PathValue("conversationId"), since, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	}
	switch r.URL.Query().Get("order") {
	case "", "oldest":
	case "newest":
		p.Newest = true
	default:
		return inbox.Invalid("order", "order must be oldest or newest")
	}
	page, err := a.svc.ListMessages(r.Context(), actor, r.PathValue("conversationId"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.OutboundInput
	if err := decode(r, &in); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	m, replayed, err := a.svc.PostMessage(r.Context(), actor, r.PathValue("conversationId"), in, key)
	return writeCreated(w, m, replayed, err)
}

func (a *API) createComment(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.CommentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	m, replayed, err := a.svc.PostComment(r.Context(), actor, r.PathValue("conversationId"), in, key)
	return writeCreated(w, m, replayed, err)
}

func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(headerIdempotencyKey)
	if len(key) > maxIdempotencyKey {
		return "", inbox.Invalid(headerIdempotencyKey, "Idempotency-Key is at most %d characters", maxIdempotencyKey)
	}
	return key, nil
}

func writeCreated(w http.ResponseWriter, v any, replayed bool, err error) error {
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set(headerReplayed, "true")
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// ---- labels ----

func (a *API) listLabels(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	labels, err := a.svc.Labels(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.Label]{Items: labels})
	return nil
}

func (a *API) createLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.LabelInput
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := a.svc.CreateLabel(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (a *API) getLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	l, err := a.svc.GetLabel(r.Context(), actor, r.PathValue("labelId"))
	if err != nil {
		return err
	}
	setETag(w, l.Version)
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *API) updateLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.LabelPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	in.IfMatch = v
	l, err := a.svc.UpdateLabel(r.Context(), actor, r.PathValue("labelId"), in)
	if err != nil {
		return err
	}
	setETag(w, l.Version)
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *API) deleteLabel(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteLabel(r.Context(), actor, r.PathValue("labelId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listScheduled(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.ScheduledMessages(r.Context(), actor, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) listDrafts(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.Drafts(r.Context(), actor, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) sendDraft(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.MessageEdit
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := a.svc.SendDraft(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("messageId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) updateScheduledMessage(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.MessageEdit
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := a.svc.EditScheduled(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("messageId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) cancelScheduled(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	m, err := a.svc.CancelScheduled(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("messageId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// ---- drip campaigns ----

func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	list, err := a.svc.Campaigns(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.Campaign]{Items: list})
	return nil
}

func (a *API) createCampaign(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.CampaignInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.svc.CreateCampaign(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) getCampaign(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	c, err := a.svc.GetCampaign(r.Context(), actor, r.PathValue("campaignId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) updateCampaign(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.CampaignPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.svc.UpdateCampaign(r.Context(), actor, r.PathValue("campaignId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) deleteCampaign(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteCampaign(r.Context(), actor, r.PathValue("campaignId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createdOrOK is 201 for what a request created, 200 for what it found.
func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// ---- drip enrollments ----

func (a *API) enroll(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		ContactID string `json:"contactId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	run, created, err := a.svc.ApplyCampaign(r.Context(), actor, r.PathValue("campaignId"), in.ContactID)
	if err != nil {
		return err
	}
	writeJSON(w, createdOrOK(created), run)
	return nil
}

func (a *API) enrollConversation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		CampaignID string `json:"campaignId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	run, created, err := a.svc.ApplyCampaignToConversation(r.Context(), actor, r.PathValue("conversationId"), in.CampaignID)
	if err != nil {
		return err
	}
	writeJSON(w, createdOrOK(created), run)
	return nil
}

func (a *API) listEnrollments(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.Enrollments(r.Context(), actor, r.PathValue("campaignId"), inbox.RunStatus(r.URL.Query().Get("status")), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// ---- automations ----

func (a *API) listAutomations(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	list, err := a.svc.Automations(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.Automation]{Items: list})
	return nil
}

func (a *API) createAutomation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.AutomationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	au, err := a.svc.CreateAutomation(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, au)
	return nil
}

func (a *API) getAutomation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	au, err := a.svc.GetAutomation(r.Context(), actor, r.PathValue("automationId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, au)
	return nil
}

func (a *API) updateAutomation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.AutomationPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	au, err := a.svc.UpdateAutomation(r.Context(), actor, r.PathValue("automationId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, au)
	return nil
}

func (a *API) deleteAutomation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteAutomation(r.Context(), actor, r.PathValue("automationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAutomationRuns(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.AutomationRuns(r.Context(), actor, r.PathValue("automationId"), inbox.RunStatus(r.URL.Query().Get("status")), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// ---- a contact's runs ----

func (a *API) listContactRuns(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	runs, err := a.svc.ContactRuns(r.Context(), actor, r.PathValue("contactId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.Run]{Items: runs})
	return nil
}

func (a *API) cancelRun(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	run, err := a.svc.CancelRun(r.Context(), actor, r.PathValue("contactId"), r.PathValue("runId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// ---- manual actions ----

func (a *API) listTasks(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.Tasks(r.Context(), actor, r.URL.Query().Get("assignee"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) finishTask(status inbox.TaskStatus) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		t, err := a.svc.FinishTask(r.Context(), actor, r.PathValue("taskId"), status)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, t)
		return nil
	}
}

func (a *API) conversationCounts(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	counts, err := a.svc.ConversationCounts(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, counts)
	return nil
}

func (a *API) taskCounts(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	counts, err := a.svc.TaskCounts(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, counts)
	return nil
}

func (a *API) setBot(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.BotInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.svc.SetBot(r.Context(), actor, r.PathValue("conversationId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
