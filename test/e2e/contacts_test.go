package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// nationalFormats writes a +1 number the ways people type it.
func nationalFormats(e164 string) []string {
	d := strings.TrimPrefix(e164, "+1")
	npa, nxx, line := d[:3], d[3:6], d[6:]
	return []string{
		e164,
		"(" + npa + ") " + nxx + "-" + line,
		npa + "." + nxx + "." + line,
		"+1 " + npa + "-" + nxx + "-" + line,
		"1 (" + npa + ") " + nxx + " " + line,
		d,
	}
}

func TestContactCreateGetPatch(t *testing.T) {
	t.Parallel()
	phone, phone2 := newPhone(t), newPhone(t)
	email := "Ada." + uniq() + "@Example.COM"
	email2 := uniq() + "@example.org"
	name := "Ada " + uniq()
	// Phones in any format are stored in E.164; emails lower case; tags
	// trimmed, de-duplicated and sorted.
	c := createContact(t, tok.agent, map[string]any{
		"name": "  " + name + " ", "phones": []string{nationalFormats(phone)[1]}, "emails": []string{email},
		"tags": []string{"vip", " beta ", "vip"}, "timezone": "Europe/London",
	})
	if !validULID(c.ID) || c.WorkspaceID != demoWS {
		t.Errorf("created contact id/workspace = %q/%q, want a ULID in %s", c.ID, c.WorkspaceID, demoWS)
	}
	if c.Name != name {
		t.Errorf("name = %q, want %q (trimmed)", c.Name, name)
	}
	if len(c.Phones) != 1 || c.Phones[0] != phone {
		t.Errorf("phones = %v, want [%s]", c.Phones, phone)
	}
	if len(c.Emails) != 1 || c.Emails[0] != strings.ToLower(email) {
		t.Errorf("emails = %v, want [%s]", c.Emails, strings.ToLower(email))
	}
	if strings.Join(c.Tags, ",") != "beta,vip" {
		t.Errorf("tags = %v, want [beta vip]", c.Tags)
	}
	if c.Timezone != "Europe/London" || c.Version < 1 || c.ConversationID != "" {
		t.Errorf("timezone/version/conversationId = %q/%d/%q, want Europe/London/>=1/empty", c.Timezone, c.Version, c.ConversationID)
	}

	// Two spellings of one phone, or one email in two cases, are one value.
	dedup := createContact(t, tok.agent, map[string]any{
		"phones": []string{nationalFormats(phone2)[0], nationalFormats(phone2)[2]},
		"emails": []string{"Dup." + email2, "dup." + strings.ToLower(email2)},
	})
	if len(dedup.Phones) != 1 || dedup.Phones[0] != phone2 || len(dedup.Emails) != 1 || dedup.Name != "" {
		t.Errorf("contact from duplicate spellings = phones %v emails %v name %q; want [%s], one email, no name", dedup.Phones, dedup.Emails, dedup.Name, phone2)
	}

	got := getContact(t, tok.admin, c.ID)
	if got.ID != c.ID || got.Name != name || got.Version != c.Version {
		t.Errorf("GET = %+v, want the created contact %+v", got, c)
	}

	// Patch name, tags and timezone; absent fields are kept.
	newName := "Ada Lovelace " + uniq()
	p := wantJSON[Contact](t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{
		"name": newName, "tags": []string{"gold"}, "timezone": "America/New_York",
	}), http.StatusOK)
	if p.Name != newName || strings.Join(p.Tags, ",") != "gold" || p.Timezone != "America/New_York" {
		t.Errorf("patched name/tags/timezone = %q/%v/%q, want %q/[gold]/America/New_York", p.Name, p.Tags, p.Timezone, newName)
	}
	if len(p.Phones) != 1 || p.Phones[0] != phone || len(p.Emails) != 1 {
		t.Errorf("patch dropped fields it did not name: phones %v emails %v", p.Phones, p.Emails)
	}
	if p.Version != c.Version+1 {
		t.Errorf("version after one patch = %d, want %d", p.Version, c.Version+1)
	}
	if !p.UpdatedAt.After(c.UpdatedAt) && !p.UpdatedAt.Equal(c.UpdatedAt) {
		t.Errorf("updatedAt went back: %s -> %s", c.UpdatedAt, p.UpdatedAt)
	}
	got = getContact(t, tok.agent, c.ID)
	if got.Name != newName || got.Timezone != "America/New_York" || strings.Join(got.Tags, ",") != "gold" {
		t.Errorf("GET after patch = %+v, want the patched values", got)
	}
	// Name search follows the rename.
	if found := searchContacts(t, tok.agent, url.Values{"name": {newName}}); len(found) != 1 || found[0].ID != c.ID {
		t.Errorf("search by the new name found %v, want %s", contactIDs(found), c.ID)
	}
	if found := searchContacts(t, tok.agent, url.Values{"name": {name}}); len(found) != 0 {
		t.Errorf("search by the old name %q still finds %v", name, contactIDs(found))
	}
	// Clearing the timezone with "" removes it.
	p = wantJSON[Contact](t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"timezone": ""}), http.StatusOK)
	if p.Timezone != "" {
		t.Errorf("timezone after clearing = %q, want empty", p.Timezone)
	}
}

func TestContactSearch(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	email := "grace." + uniq() + "@example.com"
	prefix := "Zq" + uniq()
	c := createContact(t, tok.agent, map[string]any{"name": prefix + " Hopper", "phones": []string{phone}, "emails": []string{email}})
	other := createContact(t, tok.agent, map[string]any{"name": prefix + " Brewster"})

	one := func(q url.Values) {
		t.Helper()
		found := searchContacts(t, tok.agent, q)
		if len(found) != 1 || found[0].ID != c.ID {
			t.Errorf("search %s = %d contacts %v, want exactly %s", q.Encode(), len(found), contactIDs(found), c.ID)
		}
	}
	for _, f := range nationalFormats(phone) {
		one(url.Values{"phone": {f}})
	}
	one(url.Values{"email": {email}})
	one(url.Values{"email": {strings.ToUpper(email)}})
	one(url.Values{"name": {strings.ToUpper(prefix) + " hop"}})

	both := searchContacts(t, tok.agent, url.Values{"name": {strings.ToLower(prefix)}})
	if got := contactIDs(both); len(got) != 2 || !containsStr(got, c.ID) || !containsStr(got, other.ID) {
		t.Errorf("name prefix %q found %v, want %s and %s", prefix, got, c.ID, other.ID)
	}
	limited := searchContacts(t, tok.agent, url.Values{"name": {prefix}, "limit": {"1"}})
	if len(limited) != 1 {
		t.Errorf("name search with limit=1 returned %d contacts", len(limited))
	}
	// Misses are empty lists, not errors.
	if found := searchContacts(t, tok.agent, url.Values{"phone": {newPhone(t)}}); len(found) != 0 {
		t.Errorf("search by an unused phone found %v", contactIDs(found))
	}
	if found := searchContacts(t, tok.agent, url.Values{"email": {"nobody." + uniq() + "@example.com"}}); len(found) != 0 {
		t.Errorf("search by an unused email found %v", contactIDs(found))
	}
	// Another workspace sees none of it.
	for _, q := range []url.Values{{"phone": {phone}}, {"email": {email}}, {"name": {prefix}}} {
		if found := searchContacts(t, tok.other, q); len(found) != 0 {
			t.Errorf("other workspace search %s found %v", q.Encode(), contactIDs(found))
		}
	}
	// At most one criterion (none lists the address book, see
	// addressbook_test.go); a bad phone or email is a 400 naming it.
	wantProblem(t, do(t, "GET", "/contacts?"+url.Values{"phone": {phone}, "email": {email}}.Encode(), tok.agent, nil), http.StatusBadRequest, "invalid", "query")
	wantProblem(t, do(t, "GET", "/contacts?phone=12", tok.agent, nil), http.StatusBadRequest, "invalid", "phone")
	wantProblem(t, do(t, "GET", "/contacts?email=not-an-email", tok.agent, nil), http.StatusBadRequest, "invalid", "email")
}

func contactIDs(list []Contact) []string {
	out := make([]string, 0, len(list))
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func TestContactUniqueness(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	email := "dup." + uniq() + "@example.com"
	first := createContact(t, tok.agent, map[string]any{"name": "First", "phones": []string{phone}, "emails": []string{email}})

	// The same phone in another format, or the same email in another case,
	// is the same value: 409 naming the field.
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Second", "phones": []string{nationalFormats(phone)[2]}}),
		http.StatusConflict, "conflict", "phones")
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Third", "emails": []string{strings.ToUpper(email)}}),
		http.StatusConflict, "conflict", "emails")
	// Nothing was created by the failed attempts.
	if found := searchContacts(t, tok.agent, url.Values{"phone": {phone}}); len(found) != 1 || found[0].ID != first.ID {
		t.Errorf("after the conflicts, phone %s belongs to %v, want only %s", phone, contactIDs(found), first.ID)
	}

	// A patch that takes another contact's phone conflicts too; a phone
	// released by one contact can be claimed by another.
	second := createContact(t, tok.agent, map[string]any{"name": "Second " + uniq()})
	wantProblem(t, do(t, "PATCH", "/contacts/"+second.ID, tok.agent, map[string]any{"phones": []string{phone}}),
		http.StatusConflict, "conflict", "phones")
	if got := getContact(t, tok.agent, second.ID); len(got.Phones) != 0 || got.Version != second.Version {
		t.Errorf("failed patch changed the contact: phones %v version %d -> %d", got.Phones, second.Version, got.Version)
	}
	released := wantJSON[Contact](t, do(t, "PATCH", "/contacts/"+first.ID, tok.agent, map[string]any{"phones": []string{}}), http.StatusOK)
	if len(released.Phones) != 0 {
		t.Fatalf("phones after clearing = %v", released.Phones)
	}
	claimed := wantJSON[Contact](t, do(t, "PATCH", "/contacts/"+second.ID, tok.agent, map[string]any{"phones": []string{phone}}), http.StatusOK)
	if len(claimed.Phones) != 1 || claimed.Phones[0] != phone {
		t.Errorf("second contact's phones = %v, want [%s]", claimed.Phones, phone)
	}
	if found := searchContacts(t, tok.agent, url.Values{"phone": {phone}}); len(found) != 1 || found[0].ID != second.ID {
		t.Errorf("phone %s now belongs to %v, want %s", phone, contactIDs(found), second.ID)
	}

	// Uniqueness is per workspace: the other tenant may have the same phone.
	mine := createContact(t, tok.other, map[string]any{"name": "Theirs", "phones": []string{phone}, "emails": []string{email}})
	if mine.WorkspaceID != otherWS {
		t.Errorf("other tenant's contact workspaceId = %q, want %q", mine.WorkspaceID, otherWS)
	}
}

func TestContactValidation(t *testing.T) {
	t.Parallel()
	name := "Invalid " + uniq()
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"short phone", map[string]any{"name": name, "phones": []string{"555-0123"}}, "phones"},
		{"letters phone", map[string]any{"name": name, "phones": []string{"call me"}}, "phones"},
		{"empty phone", map[string]any{"name": name, "phones": []string{" "}}, "phones"},
		{"bad email", map[string]any{"name": name, "emails": []string{"ada@"}}, "emails"},
		{"display-name email", map[string]any{"name": name, "emails": []string{"Ada <ada@example.com>"}}, "emails"},
		{"bad timezone", map[string]any{"name": name, "timezone": "Mars/Olympus_Mons"}, "timezone"},
		{"Local timezone", map[string]any{"name": name, "timezone": "Local"}, "timezone"},
		{"empty tag", map[string]any{"name": name, "tags": []string{""}}, "tags"},
		{"unknown marketing channel", map[string]any{"name": name, "marketing": map[string]bool{"fax": true}}, "marketing"},
		{"nothing to know them by", map[string]any{"tags": []string{"x"}}, "name"},
		{"name too long", map[string]any{"name": strings.Repeat("n", 201)}, "name"},
	}
	for _, c := range cases {
		wantProblem(t, do(t, "POST", "/contacts", tok.agent, c.body), http.StatusBadRequest, "invalid", c.field)
	}
	if found := searchContacts(t, tok.agent, url.Values{"name": {name}}); len(found) != 0 {
		t.Errorf("invalid creates left contacts behind: %v", contactIDs(found))
	}

	// The same rules apply to a patch, which then changes nothing.
	c := createContact(t, tok.agent, map[string]any{"name": name + " ok"})
	for _, body := range []map[string]any{
		{"phones": []string{"12"}}, {"emails": []string{"x"}}, {"timezone": "Nowhere/Town"}, {"name": "ok", "timezone": "bad"},
	} {
		r := do(t, "PATCH", "/contacts/"+c.ID, tok.agent, body)
		wantProblem(t, r, http.StatusBadRequest, "invalid", anyField)
	}
	if got := getContact(t, tok.agent, c.ID); got.Version != c.Version || got.Name != c.Name || got.Timezone != "" {
		t.Errorf("invalid patches changed the contact: %+v (was version %d)", got, c.Version)
	}
}

func TestContactConsent(t *testing.T) {
	t.Parallel()
	c := createContact(t, tok.agent, map[string]any{"name": "Consent " + uniq(), "phones": []string{newPhone(t)}})
	if len(c.Consent) != 0 {
		t.Errorf("a new contact has recorded consent %v; want none (opted in by default)", c.Consent)
	}
	before := time.Now().Add(-time.Minute)

	out := wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-out", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)
	sms, ok := out.Consent["sms"]
	if !ok || sms.Status != "opted_out" || sms.Source != "manual" || sms.ChangedBy != demoAgent || sms.ChangedAt.Before(before) {
		t.Errorf("after opt-out, consent.sms = %+v (present %v), want opted_out, manual, changedBy %s", sms, ok, demoAgent)
	}
	if _, ok := out.Consent["email"]; ok {
		t.Errorf("opting out of sms recorded email consent: %+v", out.Consent)
	}
	// It is stored, not just echoed.
	if got := getContact(t, tok.admin, c.ID); got.Consent["sms"].Status != "opted_out" {
		t.Errorf("GET after opt-out: consent.sms = %+v", got.Consent["sms"])
	}
	// MMS consent is the SMS line's consent.
	in := wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-in", tok.admin, map[string]any{"channel": "mms"}), http.StatusOK)
	if got := in.Consent["sms"]; got.Status != "opted_in" || got.Source != "manual" || got.ChangedBy != demoAdmin {
		t.Errorf("after opt-in on mms, consent.sms = %+v, want opted_in, manual, changedBy %s", got, demoAdmin)
	}
	if _, ok := in.Consent["mms"]; ok {
		t.Errorf("consent recorded under mms: %+v; mms is kept under sms", in.Consent)
	}
	// Per channel: email is separate.
	em := wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-out", tok.agent, map[string]any{"channel": "email"}), http.StatusOK)
	if em.Consent["email"].Status != "opted_out" || em.Consent["sms"].Status != "opted_in" {
		t.Errorf("after email opt-out: consent = %+v, want email opted_out and sms opted_in", em.Consent)
	}
	// Opting out twice changes nothing.
	again := wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-out", tok.agent, map[string]any{"channel": "email"}), http.StatusOK)
	if !again.Consent["email"].ChangedAt.Equal(em.Consent["email"].ChangedAt) {
		t.Errorf("a repeated opt-out moved changedAt: %s -> %s", em.Consent["email"].ChangedAt, again.Consent["email"].ChangedAt)
	}
	wantProblem(t, do(t, "POST", "/contacts/"+c.ID+"/opt-out", tok.agent, map[string]any{"channel": "fax"}), http.StatusBadRequest, "invalid", "channel")
	wantProblem(t, do(t, "POST", "/contacts/"+c.ID+"/opt-out", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "channel")
	wantProblem(t, do(t, "POST", "/contacts/"+ulidLike()+"/opt-out", tok.agent, map[string]any{"channel": "sms"}), http.StatusNotFound, "not_found", "")
}

func validULID(s string) bool { return ulidRE.MatchString(s) && len(s) == 26 }
