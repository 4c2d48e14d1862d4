package inbox

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Label classifies a conversation ("Support", "Billing"). Unlike a tag, it
// says nothing about the contact.
type Label struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Name        string    `json:"name"`
	Color       string    `json:"color"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Version     int64     `json:"version"`
}

// LabelInput creates a label; LabelPatch changes one.
type LabelInput struct {
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description"`
}

type LabelPatch struct {
	Name        *string `json:"name"`
	Color       *string `json:"color"`
	Description *string `json:"description"`
	// IfMatch is the version the request's If-Match header names.
	IfMatch *int64 `json:"-"`
}

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

const (
	maxLabelName = 50
	maxLabelDesc = 500
	defaultColor = "#6b7280"
)

func (l *Label) validate() error {
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" || utf8.RuneCountInString(l.Name) > maxLabelName {
		return Invalid("name", "label name is 1 to %d characters", maxLabelName)
	}
	if l.Color == "" {
		l.Color = defaultColor
	}
	if !colorPattern.MatchString(l.Color) {
		return Invalid("color", "color must be a hex color such as #22c55e")
	}
	if utf8.RuneCountInString(l.Description) > maxLabelDesc {
		return Invalid("description", "description is at most %d characters", maxLabelDesc)
	}
	return nil
}
