package inbox_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// FuzzNewMessageTemplate: whatever the body, a template is refused with a
// problem or built with its variables numbered 1..n, an id of its own
// shape, and a wording that filling with n values leaves no {{k}} of in.
func FuzzNewMessageTemplate(f *testing.F) {
	f.Add("order_update", "en_US", "Order {{1}} is {{2}}.", 2)
	f.Add("x", "en", "{{ 1 }} {{1}}", 1)
	f.Add("promo", "pt_BR", "{{1}} {{3}}", 3)
	f.Add("a", "fil", "{{}} {{0}} {{name}} {{{1}}}", 0)
	f.Fuzz(func(t *testing.T, name, lang, body string, examples int) {
		examples = max(0, min(examples, 12))
		ex := make([]string, examples)
		for i := range ex {
			ex[i] = "v" + strconv.Itoa(i+1)
		}
		in := inbox.TemplateInput{Channel: inbox.ChannelWhatsApp, Name: name, Language: lang, Category: inbox.CategoryMarketing,
			Components: []inbox.TemplateComponent{{Type: "body", Text: body, Example: ex}}}
		tpl, err := inbox.NewMessageTemplate("ws", in, time.Now())
		if err != nil {
			if !inbox.IsKind(err, inbox.KindInvalid) {
				t.Fatalf("refused with %v, want an invalid problem", err)
			}
			return
		}
		if !inbox.ValidTemplateID(tpl.ID) || tpl.Variables != examples || tpl.Variables > 10 {
			t.Fatalf("template %+v from %q", tpl, body)
		}
		filled := tpl.Fill(ex)
		for k := 1; k <= tpl.Variables; k++ {
			if strings.Contains(filled, "{{"+strconv.Itoa(k)+"}}") {
				t.Errorf("Fill(%q) = %q still holds {{%d}}", body, filled, k)
			}
		}
	})
}
