package inbox

import "encoding/json"

// maxStoredBytes is the size budget of one stored entity (a campaign, an
// automation), measured as its JSON. DynamoDB refuses items over 400 KB
// with an error that would surface as a 500; the budget leaves room for
// keys and attribute names, and says which field to shorten.
const maxStoredBytes = 256 << 10

// checkStoredSize refuses an entity whose stored form is past the budget.
func checkStoredSize(field, what string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return Internal(err)
	}
	if len(raw) > maxStoredBytes {
		return Invalid(field, "%s is at most %d KB in all; this one is %d KB: shorten the message bodies or use fewer steps",
			what, maxStoredBytes>>10, (len(raw)+1023)>>10)
	}
	return nil
}
