package inbox

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Contact imports: an admin uploads a CSV (POST /uploads, text/csv), then
// starts an import job that reads it in the background, a row at a time
// at a bounded rate, creating or updating contacts through the same claims
// as the API, and writes a report of every row.

// ImportStatus is where an import is.
type ImportStatus string

const (
	ImportPending ImportStatus = "pending"
	ImportRunning ImportStatus = "running"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed"
)

// Row outcomes in the report.
const (
	RowCreated = "created"
	RowUpdated = "updated"
	RowSkipped = "skipped"
	RowFailed  = "failed"
)

// ImportInput starts an import.
type ImportInput struct {
	// Key is the uploaded file's key (POST /uploads).
	Key string `json:"key"`
	// Tags are added to every imported contact.
	Tags []string `json:"tags"`
	// Consent applies to rows without their own <channel>_consent column.
	Consent map[Channel]ConsentStatus `json:"consent"`
}

// ContactImport is an import job.
type ContactImport struct {
	ID          string                    `json:"id"`
	WorkspaceID string                    `json:"workspaceId"`
	Key         string                    `json:"key"`
	Tags        []string                  `json:"tags"`
	Consent     map[Channel]ConsentStatus `json:"consent,omitempty"`
	Status      ImportStatus              `json:"status"`
	// Rows is how many data rows were read so far; the counts split them.
	Rows    int `json:"rows"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Error says why a failed import failed as a whole (a file that is not
	// CSV, a bad header).
	Error       string    `json:"error,omitempty"`
	RequestedBy string    `json:"requestedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	ExpiresAt   time.Time `json:"retainedUntil"`
	// ReportURL is a short-lived link to the report, on reads of a done
	// import; never stored.
	ReportURL     string     `json:"reportUrl,omitempty"`
	ReportExpires *time.Time `json:"reportUrlExpiresAt,omitempty"`
}

// ReportKey is where the import's report lives.
func (im *ContactImport) ReportKey() string {
	return "imports/" + im.WorkspaceID + "/" + im.ID + ".csv"
}

// ImportStore keeps import jobs.
type ImportStore interface {
	PutImport(ctx context.Context, im *ContactImport) error
	GetImport(ctx context.Context, workspaceID, id string) (*ContactImport, error)
}

// ImportRunner runs an import in the background.
type ImportRunner interface {
	RunImportAsync(ctx context.Context, workspaceID, importID string) error
}

// ImportFiles reads uploaded files; Stat first, to refuse a file over the
// limit before reading it.
type ImportFiles interface {
	MediaReader
	Stat(ctx context.Context, key string) (*StoredObject, error)
}

// Import limits.
const (
	MaxImportBytes   = 20 << 20
	MaxImportRows    = 100_000
	MaxImportColumns = 50
	MaxImportRowSize = 10 << 10
	// ImportRowsPerSecond paces an import's writes. A new row with a
	// phone, an email, three tags and a consent column is about 15 WRU as
	// DynamoDB bills it (DynamoDB Local reports 11: it undercounts
	// transactions): the contact, its byName entry and two claims in one
	// transaction (billed twice), a catalog count per tag, and the consent
	// state and history entry (a transaction). 50 rows a second is thus
	// about 750 WRU/s, under a fifth of what a new on-demand table takes
	// at once (4,000), spread over contact and claim partitions; the
	// hottest items, the tag catalog's, take 50 writes a second, a
	// twentieth of a partition's 1,000. Live traffic keeps the rest.
	// 100,000 rows take about 34 minutes, over Lambda's 15: a run stops
	// at its budget, checkpoints, and the next run goes on.
	ImportRowsPerSecond = 50
	// ImportRunBudget is how long one run imports before it checkpoints
	// and hands over to the next (Lambda's limit is 15 minutes).
	ImportRunBudget = 12 * time.Minute
	// importCheckpoint is how many rows run between two saves of the job.
	importCheckpoint = 200
	// ImportRetention is how long a job and its report are kept.
	ImportRetention = 7 * 24 * time.Hour
	// ImportReportTTL is how long a report link stays valid.
	ImportReportTTL = 15 * time.Minute
)

// ConsentSourceImport is consent recorded from an imported file.
const ConsentSourceImport ConsentSource = "import"

// Imports is the import use case of the api (start, read) and of the
// background run.
type Imports struct {
	core
	files   ImportFiles
	objects ObjectStore
	runner  ImportRunner
	// Rate is rows per second; 0 means ImportRowsPerSecond.
	Rate float64
	// Budget bounds one run; 0 means ImportRunBudget.
	Budget time.Duration
}

// NewImports returns the import use case: uploads read from files,
// reports written to objects, runs started with runner.
func NewImports(store Store, clock Clock, files ImportFiles, objects ObjectStore, runner ImportRunner) *Imports {
	return &Imports{core: newCore(store, clock), files: files, objects: objects, runner: runner}
}

// StartImport checks the upload and starts its import. Admins only: an
// import writes consent for many contacts at once.
func (s *Imports) StartImport(ctx context.Context, actor Actor, in ImportInput) (*ContactImport, error) {
	if err := requireAdmin(actor, "import contacts"); err != nil {
		return nil, err
	}
	if s.files == nil || s.runner == nil {
		return nil, Errorf(KindUnavailable, "imports are not configured")
	}
	if strings.TrimSpace(in.Key) == "" {
		return nil, Invalid("key", "key is required: the key of the uploaded CSV file (POST /uploads)")
	}
	if err := checkMediaKey(actor.WorkspaceID, in.Key); err != nil {
		return nil, Invalid("key", "key is not one of this workspace's uploads")
	}
	tags, err := validateTags("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	for ch, st := range in.Consent {
		if !ch.Valid() {
			return nil, Invalid("consent", "unknown channel %q", ch)
		}
		if st != ConsentOptedIn && st != ConsentOptedOut {
			return nil, Invalid("consent", "consent is opted_in or opted_out")
		}
	}
	obj, err := s.files.Stat(ctx, in.Key)
	if IsKind(err, KindNotFound) {
		return nil, Invalid("key", "no file was uploaded at this key; upload it first")
	}
	if err != nil {
		return nil, err
	}
	if obj.Size > MaxImportBytes {
		return nil, &Error{Kind: KindInvalid, Field: "key", Message: fmt.Sprintf("the file is %s; an import is at most %s", formatBytes(obj.Size), formatBytes(MaxImportBytes))}
	}
	now := s.now()
	im := &ContactImport{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Key: in.Key, Tags: tags, Consent: in.Consent,
		Status: ImportPending, RequestedBy: actor.UserID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ImportRetention)}
	if err := s.store.PutImport(ctx, im); err != nil {
		return nil, err
	}
	if err := s.runner.RunImportAsync(ctx, im.WorkspaceID, im.ID); err != nil {
		return nil, err
	}
	return im, nil
}

// GetImport reads an import; a done one carries a link to its report.
func (s *Imports) GetImport(ctx context.Context, actor Actor, id string) (*ContactImport, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "import %q not found", id)
	}
	im, err := s.store.GetImport(ctx, actor.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if im.Status == ImportDone && s.objects != nil {
		url, err := s.objects.PresignGet(ctx, im.ReportKey(), "import-"+im.ID+".csv", ImportReportTTL)
		if err != nil {
			return nil, err
		}
		exp := s.now().Add(ImportReportTTL)
		im.ReportURL, im.ReportExpires = url, &exp
	}
	return im, nil
}

// importColumns is a header read: where each known column is.
type importColumns struct {
	name, phone, email, tags, timezone int
	consent                            map[Channel]int
	custom                             map[string]int
}

func readHeader(header []string) (*importColumns, error) {
	if len(header) > MaxImportColumns {
		return nil, fmt.Errorf("the header has %d columns; at most %d", len(header), MaxImportColumns)
	}
	cols := &importColumns{name: -1, phone: -1, email: -1, tags: -1, timezone: -1, consent: map[Channel]int{}, custom: map[string]int{}}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, errors.New("the header is not UTF-8: save the file as CSV UTF-8")
		}
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case h == "name":
			cols.name = i
		case h == "phone":
			cols.phone = i
		case h == "email":
			cols.email = i
		case h == "tags":
			cols.tags = i
		case h == "timezone":
			cols.timezone = i
		case strings.HasSuffix(h, "_consent"):
			ch := Channel(strings.TrimSuffix(h, "_consent"))
			if !ch.Valid() {
				return nil, fmt.Errorf("column %q: no channel %q", h, ch)
			}
			cols.consent[ch.ConsentChannel()] = i
		case strings.HasPrefix(h, "custom."):
			cols.custom[strings.TrimPrefix(strings.TrimSpace(header[i]), "custom.")] = i
		case h == "":
		default:
			return nil, fmt.Errorf("unknown column %q: use name, phone, email, tags, timezone, <channel>_consent or custom.<field>", clipRunes(h, 40))
		}
	}
	if cols.name < 0 && cols.phone < 0 && cols.email < 0 {
		return nil, errors.New("the header names no name, phone or email column")
	}
	return cols, nil
}

// RunImport imports the file from the job's checkpoint until it is done
// or the run's budget is spent; more reports that another run must go on.
// Rows before the checkpoint are not read again; rows after it that an
// interrupted run had written are written again (found by their phone or
// email: updated, not duplicated), and the report then covers the rows
// from the checkpoint on.
func (s *Imports) RunImport(ctx context.Context, workspaceID, id string) (im *ContactImport, more bool, err error) {
	im, err = s.store.GetImport(ctx, workspaceID, id)
	if err != nil || im.Status == ImportDone || im.Status == ImportFailed {
		return im, false, err
	}
	fail := func(why string) (*ContactImport, bool, error) {
		im.Status, im.Error, im.UpdatedAt = ImportFailed, why, s.now()
		return im, false, s.store.PutImport(ctx, im)
	}
	data, err := s.files.Get(ctx, im.Key, MaxImportBytes)
	if IsKind(err, KindNotFound) {
		return fail("the uploaded file is gone")
	}
	if IsKind(err, KindInvalid) {
		return fail(fmt.Sprintf("the file is over %s", formatBytes(MaxImportBytes)))
	}
	if err != nil {
		return nil, false, err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fail("the file is not CSV with a header row: " + err.Error())
	}
	cols, err := readHeader(header)
	if err != nil {
		return fail(err.Error())
	}
	fields, err := s.store.ContactFields(ctx, workspaceID)
	if err != nil {
		return nil, false, err
	}
	for key := range cols.custom {
		if _, ok := fields.Field(key); !ok {
			return fail(fmt.Sprintf("column custom.%s: no contact field %q is defined (GET /contact-fields)", clipRunes(key, 40), clipRunes(key, 40)))
		}
	}
	resumeAt := im.Rows
	im.Status = ImportRunning
	var report bytes.Buffer
	rw := csv.NewWriter(&report)
	_ = rw.Write([]string{"row", "status", "contact", "reason"})
	if resumeAt > 0 {
		_ = rw.Write([]string{"", "", "", fmt.Sprintf("rows 1 to %d were imported by an earlier run: see the counts", resumeAt)})
	}
	seen := map[string]int{} // phone or email → the row that had it
	start := s.now()
	budget := s.Budget
	if budget <= 0 {
		budget = ImportRunBudget
	}
	pace := newPacer(s.Rate)
	row := 0
	for {
		offset := r.InputOffset()
		rec, rerr := r.Read()
		if rerr == io.EOF {
			break
		}
		row++
		if row > MaxImportRows {
			if row <= resumeAt {
				continue
			}
			im.Failed++
			im.Rows = row
			_ = rw.Write([]string{fmt.Sprint(row), RowFailed, "", fmt.Sprintf("over the limit of %d rows: import the rest in another file", MaxImportRows)})
			continue
		}
		var keys []string
		status, contactID, reason := "", "", ""
		switch {
		case rerr != nil:
			status, reason = RowFailed, "not CSV: "+rerr.Error()
		case r.InputOffset()-offset > MaxImportRowSize:
			status, reason = RowFailed, fmt.Sprintf("the row is over %d KB", MaxImportRowSize>>10)
		default:
			keys = rowKeys(rec, cols)
			for _, k := range keys {
				if first, dup := seen[k]; dup && row > resumeAt {
					status, reason = RowSkipped, fmt.Sprintf("duplicate of row %d (%s)", first, k)
					break
				}
			}
		}
		for _, k := range keys {
			if _, ok := seen[k]; !ok {
				seen[k] = row
			}
		}
		if row <= resumeAt {
			continue
		}
		if status == "" {
			if err := pace.wait(ctx); err != nil {
				return nil, false, err
			}
			status, contactID, reason, err = s.importRow(ctx, im, rec, cols)
			if err != nil {
				return nil, false, err // an outage: retried from the checkpoint
			}
		}
		switch status {
		case RowCreated:
			im.Created++
		case RowUpdated:
			im.Updated++
		case RowSkipped:
			im.Skipped++
		default:
			im.Failed++
		}
		im.Rows = row
		_ = rw.Write([]string{fmt.Sprint(row), status, contactID, reason})
		if row%importCheckpoint == 0 {
			im.UpdatedAt = s.now()
			if err := s.store.PutImport(ctx, im); err != nil {
				return nil, false, err
			}
			if s.now().Sub(start) > budget {
				return im, true, s.writeReport(ctx, im, rw, &report, true)
			}
		}
	}
	if err := s.writeReport(ctx, im, rw, &report, false); err != nil {
		return nil, false, err
	}
	im.Status, im.UpdatedAt = ImportDone, s.now()
	return im, false, s.store.PutImport(ctx, im)
}

// writeReport stores the report so far; a run that hands over keeps going
// in the next, which rewrites it with the rows it reads.
func (s *Imports) writeReport(ctx context.Context, im *ContactImport, rw *csv.Writer, report *bytes.Buffer, partial bool) error {
	if partial {
		_ = rw.Write([]string{"", "", "", "continued by another run"})
	}
	rw.Flush()
	return s.objects.Put(ctx, im.ReportKey(), "text/csv", func(w io.Writer) error {
		_, err := w.Write(report.Bytes())
		return err
	})
}

// rowKeys are the row's phone and email, normalised, for the in-file dedupe.
func rowKeys(rec []string, cols *importColumns) []string {
	var keys []string
	if v := cell(rec, cols.phone); v != "" {
		if p, err := NormalizePhone("phone", v); err == nil {
			keys = append(keys, p)
		}
	}
	if v := cell(rec, cols.email); v != "" {
		if e, err := NormalizeEmail("email", v); err == nil {
			keys = append(keys, e)
		}
	}
	return keys
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// importRow creates or updates one row's contact and reports what it did;
// err is an outage only, a bad row is RowFailed with a reason.
func (s *Imports) importRow(ctx context.Context, im *ContactImport, rec []string, cols *importColumns) (status, contactID, reason string, err error) {
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return RowFailed, "", "the row is not UTF-8", nil
		}
	}
	in := ContactInput{Name: cell(rec, cols.name), Timezone: cell(rec, cols.timezone), Tags: append([]string{}, im.Tags...)}
	if v := cell(rec, cols.phone); v != "" {
		in.Phones = []string{v}
	}
	if v := cell(rec, cols.email); v != "" {
		in.Emails = []string{v}
	}
	if v := cell(rec, cols.tags); v != "" {
		for _, t := range strings.Split(v, ";") {
			if t = strings.TrimSpace(t); t != "" {
				in.Tags = append(in.Tags, t)
			}
		}
	}
	custom := map[string]*string{}
	for key, i := range cols.custom {
		if v := cell(rec, i); v != "" {
			custom[key] = &v
		}
	}
	consent := map[Channel]ConsentStatus{}
	for ch, st := range im.Consent {
		consent[ch.ConsentChannel()] = st
	}
	for ch, i := range cols.consent {
		switch v := strings.ToLower(cell(rec, i)); v {
		case "":
		case string(ConsentOptedIn), string(ConsentOptedOut):
			consent[ch] = ConsentStatus(v)
		default:
			return RowFailed, "", fmt.Sprintf("%s_consent is opted_in or opted_out, not %q", ch, clipRunes(v, 40)), nil
		}
	}
	// Validate everything before writing anything.
	probe := &Contact{WorkspaceID: im.WorkspaceID}
	patch := ContactPatch{Name: &in.Name, Phones: &in.Phones, Emails: &in.Emails, Tags: &in.Tags, Timezone: &in.Timezone}
	if err := applyContactPatch(probe, patch); err != nil {
		return RowFailed, "", reasonOf(err), nil
	}
	if probe.Name == "" && len(probe.Phones) == 0 && len(probe.Emails) == 0 {
		return RowFailed, "", "the row has no name, phone or email", nil
	}
	if err := s.applyCustom(ctx, probe, custom); err != nil {
		if IsKind(err, KindInvalid) {
			return RowFailed, "", reasonOf(err), nil
		}
		return "", "", "", err
	}
	existing, err := s.findExisting(ctx, im.WorkspaceID, probe)
	if err != nil {
		if IsKind(err, KindConflict) {
			return RowFailed, "", reasonOf(err), nil
		}
		return "", "", "", err
	}
	actor := Actor{WorkspaceID: im.WorkspaceID, UserID: im.RequestedBy, Role: RoleAdmin}
	var c *Contact
	if existing == nil {
		status = RowCreated
		c, err = s.createContact(ctx, actor, ContactInput{Name: probe.Name, Phones: probe.Phones, Emails: probe.Emails,
			Tags: probe.Tags, Timezone: probe.Timezone, Custom: probe.Custom})
	} else {
		status = RowUpdated
		c, err = s.mutateContact(ctx, actor, existing.ID, func(c *Contact) error {
			if c.Name == "" {
				c.Name = probe.Name
			}
			if c.Timezone == "" {
				c.Timezone = probe.Timezone
			}
			for _, p := range probe.Phones {
				c.Phones = appendUnique(c.Phones, p)
			}
			for _, e := range probe.Emails {
				c.Emails = appendUnique(c.Emails, e)
			}
			tags := append(append([]string{}, c.Tags...), probe.Tags...)
			t, err := validateTags("tags", tags)
			if err != nil {
				return err
			}
			c.Tags = t
			for k, v := range probe.Custom {
				if c.Custom == nil {
					c.Custom = map[string]string{}
				}
				c.Custom[k] = v
			}
			return nil
		})
	}
	if err != nil {
		if IsKind(err, KindInvalid) || IsKind(err, KindConflict) {
			return RowFailed, "", reasonOf(err), nil
		}
		return "", "", "", err
	}
	for ch, st := range consent {
		if c.ConsentOn(ch).Status == st && c.Consent[ch].Source != "" {
			continue
		}
		if _, err := s.changeConsent(ctx, im.WorkspaceID, c.ID, ConsentRecord{Channel: ch, Status: st,
			Source: ConsentSourceImport, ChangedBy: im.RequestedBy}); err != nil {
			return "", "", "", err
		}
	}
	return status, c.ID, "", nil
}

// findExisting is the contact the row's phone or email already belongs
// to; nil for none, KindConflict when they belong to two contacts.
func (s *Imports) findExisting(ctx context.Context, ws string, probe *Contact) (*Contact, error) {
	var found *Contact
	check := func(c *Contact, err error, what string) error {
		if IsKind(err, KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if found != nil && found.ID != c.ID {
			return Errorf(KindConflict, "the phone and the email belong to two different contacts (%s, %s): merge them first", found.ID, c.ID)
		}
		found = c
		return nil
	}
	for _, p := range probe.Phones {
		c, err := s.store.FindContactByPhone(ctx, ws, p)
		if err := check(c, err, p); err != nil {
			return nil, err
		}
	}
	for _, e := range probe.Emails {
		c, err := s.store.FindContactByEmail(ctx, ws, e)
		if err := check(c, err, e); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// reasonOf is an error's message for the report, with the column at fault.
func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}

// pacer spaces calls rate per second apart: a token bucket of one token,
// so an import never writes in bursts.
type pacer struct {
	every time.Duration
	next  time.Time
}

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		rate = ImportRowsPerSecond
	}
	return &pacer{every: time.Duration(float64(time.Second) / rate)}
}

func (p *pacer) wait(ctx context.Context) error {
	now := time.Now()
	if p.next.After(now) {
		if err := sleep(ctx, p.next.Sub(now)); err != nil {
			return err
		}
		now = p.next
	}
	p.next = now.Add(p.every)
	return nil
}
