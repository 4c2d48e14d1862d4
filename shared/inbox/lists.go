package inbox

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ContactList is a static list of contacts (issue 15 §1): agents and
// admins add and remove members by id; Members counts them, moved once per
// member that joins or leaves. Membership is read in pages, never scanned.
type ContactList struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     int64     `json:"members"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Version     int64     `json:"version"`
}

// ListInput creates a list; ListPatch changes its name or description.
type ListInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type ListPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// ListMember is one contact on a list, with the contact's name as it was
// when added.
type ListMember struct {
	ContactID string    `json:"contactId"`
	Name      string    `json:"name"`
	AddedAt   time.Time `json:"addedAt"`
}

// AddToListInput adds up to MaxListAdd contacts in one call.
type AddToListInput struct {
	ContactIDs []string `json:"contactIds"`
}

// AddToListResult counts the contacts that joined and those already on
// the list (re-adding is a no-op).
type AddToListResult struct {
	Added          int `json:"added"`
	AlreadyMembers int `json:"alreadyMembers"`
}

const (
	MaxListAdd         = 1000
	maxListName        = 100
	maxListDescription = 500
	listAddWorkers     = 8
)

// ListStore keeps static contact lists and their members. A member is its
// own item; the list's count moves in the same transaction as the item.
type ListStore interface {
	CreateList(ctx context.Context, l *ContactList) error
	GetList(ctx context.Context, workspaceID, id string) (*ContactList, error)
	// ListLists pages through the workspace's lists, oldest first.
	ListLists(ctx context.Context, workspaceID string, p PageRequest) (Page[*ContactList], error)
	// UpdateList stores next's name and description if prev.Version is stored.
	UpdateList(ctx context.Context, prev, next *ContactList) error
	// DeleteList removes the list and then its members in batches.
	DeleteList(ctx context.Context, l *ContactList) error
	// ContactNames reads the names of the contacts of ids that exist, keyed by id.
	ContactNames(ctx context.Context, workspaceID string, ids []string) (map[string]string, error)
	// AddListMember adds m and counts it, exactly once: false if it was
	// already a member. KindNotFound if the list is gone.
	AddListMember(ctx context.Context, workspaceID, listID string, m ListMember) (bool, error)
	// RemoveListMember removes a member and uncounts it; false if it was not one.
	RemoveListMember(ctx context.Context, workspaceID, listID, contactID string) (bool, error)
	// ListMembers reads one page of members, by contact id, with one Query.
	ListMembers(ctx context.Context, workspaceID, listID string, p PageRequest) (Page[ListMember], error)
}

func (l *ContactList) validate() error {
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" || !utf8.ValidString(l.Name) || utf8.RuneCountInString(l.Name) > maxListName {
		return Invalid("name", "a list name is 1 to %d characters", maxListName)
	}
	if strings.ContainsFunc(l.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Invalid("name", "a list name cannot contain control characters")
	}
	if !utf8.ValidString(l.Description) || utf8.RuneCountInString(l.Description) > maxListDescription {
		return Invalid("description", "a description is at most %d characters", maxListDescription)
	}
	return nil
}

// CreateList adds a static list; agents and admins may.
func (s *Desk) CreateList(ctx context.Context, actor Actor, in ListInput) (*ContactList, error) {
	now := s.now()
	l := &ContactList{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	if err := l.validate(); err != nil {
		return nil, err
	}
	if err := s.store.CreateList(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// GetList returns one list with its member count.
func (s *Desk) GetList(ctx context.Context, actor Actor, id string) (*ContactList, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "list %q not found", id)
	}
	return s.store.GetList(ctx, actor.WorkspaceID, id)
}

// ListLists pages through the workspace's lists, oldest first.
func (s *Desk) ListLists(ctx context.Context, actor Actor, p PageRequest) (Page[*ContactList], error) {
	if err := normalizePage(&p); err != nil {
		return Page[*ContactList]{}, err
	}
	return s.store.ListLists(ctx, actor.WorkspaceID, p)
}

// UpdateList renames a list or changes its description.
func (s *Desk) UpdateList(ctx context.Context, actor Actor, id string, p ListPatch) (*ContactList, error) {
	var out *ContactList
	err := retryOnConflict(ctx, func() error {
		prev, err := s.GetList(ctx, actor, id)
		if err != nil {
			return err
		}
		next := *prev
		if p.Name != nil {
			next.Name = *p.Name
		}
		if p.Description != nil {
			next.Description = *p.Description
		}
		if err := next.validate(); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		out = &next
		return s.store.UpdateList(ctx, prev, &next)
	})
	return out, err
}

// DeleteList removes a list (admins only). The list goes first, so it is
// gone at once; its members are then deleted in batches of 25.
func (s *Desk) DeleteList(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "delete lists"); err != nil {
		return err
	}
	return retryOnConflict(ctx, func() error {
		l, err := s.GetList(ctx, actor, id)
		if err != nil {
			return err
		}
		return s.store.DeleteList(ctx, l)
	})
}

// AddToList adds up to MaxListAdd contacts of the workspace to a list.
// Every id must name a contact of the workspace, or nothing is added and
// the unknown ids are named. Adding a member again changes nothing.
func (s *Desk) AddToList(ctx context.Context, actor Actor, listID string, in AddToListInput) (AddToListResult, error) {
	var res AddToListResult
	if len(in.ContactIDs) == 0 {
		return res, Invalid("contactIds", "give 1 to %d contact ids", MaxListAdd)
	}
	if len(in.ContactIDs) > MaxListAdd {
		return res, Invalid("contactIds", "at most %d contact ids per call; this one has %d", MaxListAdd, len(in.ContactIDs))
	}
	ids := slices.Clone(in.ContactIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var bad []string
	for _, id := range ids {
		if !ValidID(id) {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return res, Invalid("contactIds", "not contacts of this workspace: %s", strings.Join(bad, ", "))
	}
	l, err := s.GetList(ctx, actor, listID)
	if err != nil {
		return res, err
	}
	names, err := s.store.ContactNames(ctx, actor.WorkspaceID, ids)
	if err != nil {
		return res, err
	}
	for _, id := range ids {
		if _, ok := names[id]; !ok {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return res, Invalid("contactIds", "not contacts of this workspace: %s", strings.Join(bad, ", "))
	}
	// One small transaction per member, listAddWorkers at a time: 1,000
	// members take about 1,000/listAddWorkers round trips.
	now := s.now()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	todo := make(chan string)
	for range min(listAddWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range todo {
				added, err := s.store.AddListMember(ctx, actor.WorkspaceID, l.ID, ListMember{ContactID: id, Name: names[id], AddedAt: now})
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case added:
					res.Added++
				default:
					res.AlreadyMembers++
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed {
			break
		}
		todo <- id
	}
	close(todo)
	wg.Wait()
	if len(errs) > 0 {
		// Members added before the failure stay, counted; repeating the
		// call adds the rest.
		return res, errs[0]
	}
	return res, nil
}

// RemoveFromList takes a contact off a list; removing a non-member is a no-op.
func (s *Desk) RemoveFromList(ctx context.Context, actor Actor, listID, contactID string) error {
	l, err := s.GetList(ctx, actor, listID)
	if err != nil {
		return err
	}
	if !ValidID(contactID) {
		return nil
	}
	_, err = s.store.RemoveListMember(ctx, actor.WorkspaceID, l.ID, contactID)
	return err
}

// ListMembers pages through a list's members, by contact id.
func (s *Desk) ListMembers(ctx context.Context, actor Actor, listID string, p PageRequest) (Page[ListMember], error) {
	if err := normalizePage(&p); err != nil {
		return Page[ListMember]{}, err
	}
	l, err := s.GetList(ctx, actor, listID)
	if err != nil {
		return Page[ListMember]{}, err
	}
	return s.store.ListMembers(ctx, actor.WorkspaceID, l.ID, p)
}
