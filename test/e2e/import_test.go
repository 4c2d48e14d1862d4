package e2e_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

type ContactImport struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Rows      int    `json:"rows"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed"`
	Error     string `json:"error"`
	ReportURL string `json:"reportUrl"`
}

// uploadCSV uploads a CSV file as the SPA would and returns its key.
func uploadCSV(t testing.TB, data string) string {
	t.Helper()
	up := createUpload(t, tok.admin, map[string]any{"name": "contacts.csv", "contentType": "text/csv", "size": len(data)})
	if status, body := postForm(t, up, "text/csv", []byte(data)); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, body)
	}
	return up.Attachment.Key
}

// waitImport polls an import until it is done or failed.
func waitImport(t testing.TB, id string) ContactImport {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		im := wantJSON[ContactImport](t, do(t, "GET", "/contact-imports/"+id, tok.admin, nil), http.StatusOK)
		if im.Status == "done" || im.Status == "failed" {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s still %s after 30 s: %+v", id, im.Status, im)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Issue 14: a CSV import with good, duplicate, invalid-phone and bad
// custom-value rows, and a row updating an existing contact: counted,
// reported row by row, and the contacts carry tags, custom values and
// consent recorded with source import.
func TestImportContactsFromCSV(t *testing.T) {
	t.Parallel()
	field := "score_" + uniq()
	wantStatus(t, do(t, "PUT", "/contact-fields/"+field, tok.admin, map[string]any{"label": "Score", "type": "number"}), http.StatusOK)
	defer do(t, "DELETE", "/contact-fields/"+field, tok.admin, nil)

	existingPhone := newPhone(t)
	existing := createContact(t, tok.agent, map[string]any{"name": "Already Here", "phones": []string{existingPhone}, "tags": []string{"old"}})
	good, dup := newPhone(t), newPhone(t)
	email := "import-" + strings.ToLower(uniq()) + "@example.com"
	file := "Name,Phone,Email,Tags,sms_consent,custom." + field + "\n" +
		fmt.Sprintf("Ada Import,%s,%s,vip;west,opted_out,12.50\n", good, email) + // created
		fmt.Sprintf("Ada Again,%s,,,,\n", good) + // duplicate of row 1: skipped
		"Bad Phone,12,,,,\n" + // failed: invalid phone
		fmt.Sprintf("Bad Score,%s,,,,lots\n", dup) + // failed: not a number
		fmt.Sprintf(",%s,,new,opted_in,7\n", existingPhone) // updated
	key := uploadCSV(t, file)

	wantProblem(t, do(t, "POST", "/contact-imports", tok.agent, map[string]any{"key": key}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "POST", "/contact-imports", tok.admin, map[string]any{"key": "media/other/up/x/contacts.csv"}), http.StatusBadRequest, "invalid", "key")

	r := do(t, "POST", "/contact-imports", tok.admin, map[string]any{"key": key, "tags": []string{"imported"}})
	im := wantJSON[ContactImport](t, r, http.StatusAccepted)
	if loc := r.Header.Get("Location"); loc != "/contact-imports/"+im.ID {
		t.Errorf("Location = %q", loc)
	}
	im = waitImport(t, im.ID)
	if im.Status != "done" || im.Rows != 5 || im.Created != 1 || im.Updated != 1 || im.Skipped != 1 || im.Failed != 2 {
		t.Fatalf("import = %+v; want done, 5 rows: 1 created, 1 updated, 1 skipped, 2 failed", im)
	}

	status, body, _ := fetch(t, im.ReportURL)
	if status != http.StatusOK {
		t.Fatalf("report: %d %s", status, body)
	}
	report, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v\n%s", err, body)
	}
	want := map[string]string{"1": "created", "2": "skipped", "3": "failed", "4": "failed", "5": "updated"}
	for _, line := range report[1:] {
		if want[line[0]] != line[1] {
			t.Errorf("report row %s: %q, want %q (%q)", line[0], line[1], want[line[0]], line)
		}
		if (line[1] == "failed" || line[1] == "skipped") && line[3] == "" {
			t.Errorf("report row %s has no reason: %q", line[0], line)
		}
		delete(want, line[0])
	}
	if len(want) != 0 || !strings.Contains(string(body), "custom."+field) {
		t.Errorf("report misses rows %v or the custom field's reason:\n%s", want, body)
	}

	found := searchContacts(t, tok.agent, url.Values{"phone": {good}})
	if len(found) != 1 {
		t.Fatalf("no contact imported with %s", good)
	}
	c := getContact(t, tok.agent, found[0].ID)
	if c.Name != "Ada Import" || !slices.Contains(c.Emails, email) || !slices.Equal(c.Tags, []string{"imported", "vip", "west"}) {
		t.Errorf("imported contact = %+v", c)
	}
	if cc := c.Consent["sms"]; cc.Status != "opted_out" || cc.Source != "import" {
		t.Errorf("imported contact's SMS consent = %+v, want opted_out from import", cc)
	}
	raw := wantJSON[struct {
		Custom map[string]string `json:"custom"`
	}](t, do(t, "GET", "/contacts/"+c.ID, tok.agent, nil), http.StatusOK)
	if raw.Custom[field] != "12.5" {
		t.Errorf("imported custom value = %q, want 12.5", raw.Custom[field])
	}
	updated := getContact(t, tok.agent, existing.ID)
	if updated.Name != "Already Here" || !slices.Equal(updated.Tags, []string{"imported", "new", "old"}) || updated.Consent["sms"].Source != "import" {
		t.Errorf("updated contact = %+v", updated)
	}
	if n := len(searchContacts(t, tok.agent, url.Values{"phone": {dup}})); n != 0 {
		t.Errorf("the row with a bad custom value created a contact")
	}

	t.Run("not CSV fails as a whole", func(t *testing.T) {
		key := uploadCSV(t, "Name,Colour\nAda,blue\n")
		im := wantJSON[ContactImport](t, do(t, "POST", "/contact-imports", tok.admin, map[string]any{"key": key}), http.StatusAccepted)
		if im = waitImport(t, im.ID); im.Status != "failed" || !strings.Contains(im.Error, "colour") {
			t.Errorf("import of an unknown column = %+v, want failed naming it", im)
		}
	})
}
