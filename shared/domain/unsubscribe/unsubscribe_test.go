package unsubscribe_test

import (
	"errors"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
)

func TestTokens(t *testing.T) {
	s := unsubscribe.Signer{Secret: []byte("s3cret")}
	tok := s.Token("C001", customer.Email)
	id, ch, err := s.Check(tok)
	if err != nil || id != "C001" || ch != customer.Email {
		t.Fatalf("Check = %q %q %v", id, ch, err)
	}
	other := unsubscribe.Signer{Secret: []byte("another")}
	for name, bad := range map[string]string{
		"other secret":      other.Token("C001", customer.Email),
		"tampered customer": s.Token("C002", customer.Email)[:10] + tok[10:],
		"no signature":      "QzAwMQBlbWFpbA",
		"garbage":           "!!!.???",
		"empty":             "",
	} {
		if _, _, err := s.Check(bad); !errors.Is(err, unsubscribe.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	s := unsubscribe.Signer{Secret: []byte("s3cret")}
	f.Add(s.Token("C001", customer.Email))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		if id, ch, err := s.Check(tok); err == nil && (id == "" || ch == "") {
			t.Fatalf("accepted %q as %q/%q", tok, id, ch)
		}
	})
}
