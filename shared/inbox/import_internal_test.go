package inbox

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// FuzzImportHeader: any first line of an uploaded file is accepted as a
// header or refused with a reason, never a panic; an accepted one has at
// most MaxImportColumns columns and names a name, phone or email column.
func FuzzImportHeader(f *testing.F) {
	for _, seed := range []string{"name,phone,email,tags,timezone,sms_consent,custom.tier\n", "\ufeffName,Phone\n",
		"email,whatsapp_consent\n", "name,colour\n", "\"a,b\n", "phone,custom.\xff\n", "tags\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		header, err := csv.NewReader(bytes.NewReader(data)).Read()
		if err != nil {
			return
		}
		cols, err := readHeader(header)
		if err != nil {
			if err.Error() == "" {
				t.Error("refused without a reason")
			}
			return
		}
		if len(header) > MaxImportColumns || (cols.name < 0 && cols.phone < 0 && cols.email < 0) {
			t.Errorf("accepted %q", header)
		}
		rowKeys(header, cols) // a row shaped like the header
	})
}
