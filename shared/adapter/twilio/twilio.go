// Package twilio turns Twilio's webhooks (inbound SMS and MMS, message
// status callbacks, voice status callbacks) into Parley's normalised inbox
// types. It only reads form values; the webhook function does the HTTP.
package twilio

import (
	"net/url"
	"slices"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/parley-inbox/parley/shared/inbox"
)

// VerifySignature reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a form POST to publicURL, the full URL Twilio was
// configured with (scheme, host, path and query).
func VerifySignature(authToken, publicURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for name, values := range form {
		// The validator signs one value per name. Twilio never repeats a
		// name in these webhooks, and an unsigned extra value must not
		// ride along with a valid signature.
		if len(values) != 1 {
			return false
		}
		params[name] = values[0]
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(publicURL, params, signature)
}

// validSID reports whether s is a Twilio SID: a two-letter prefix from
// prefixes and 32 hex digits.
func validSID(s string, prefixes ...string) bool {
	if len(s) != 34 || !slices.Contains(prefixes, s[:2]) {
		return false
	}
	for _, r := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func sid(form url.Values, field string, prefixes ...string) (string, error) {
	s := form.Get(field)
	if !validSID(s, prefixes...) {
		return "", inbox.Invalid(field, "%s must be a Twilio SID starting with %s", field, strings.Join(prefixes, " or "))
	}
	return s, nil
}

// checkAccount rejects a malformed AccountSid; Twilio always sends one, but
// the normalised types have no place for it.
func checkAccount(form url.Values) error {
	if _, ok := form["AccountSid"]; !ok {
		return nil
	}
	_, err := sid(form, "AccountSid", "AC")
	return err
}

// phone returns a form field as E.164. Twilio sends numbers as E.164, so
// anything else (whatsapp:+1…, client:alice, sip:…) is not a phone.
func phone(form url.Values, field string) (string, error) {
	raw := form.Get(field)
	if raw == "" {
		return "", inbox.Invalid(field, "%s is missing", field)
	}
	if !strings.HasPrefix(raw, "+") {
		return "", inbox.Invalid(field, "%s must be an E.164 phone number such as +14155550123", field)
	}
	return inbox.NormalizePhone(field, raw)
}
