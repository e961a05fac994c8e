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

func TestTopicAndPreferenceTokens(t *testing.T) {
	s := unsubscribe.Signer{Secret: []byte("s3cret")}
	l, err := s.Open(s.TopicToken("C001", customer.Email, "newsletter"))
	if err != nil || l != (unsubscribe.Link{CustomerID: "C001", Channel: customer.Email, Topic: "newsletter"}) {
		t.Fatalf("Open = %+v %v", l, err)
	}
	if l, err := s.Open(s.Token("C001", customer.Email)); err != nil || l.Topic != "" {
		t.Errorf("a channel link: %+v %v", l, err)
	}
	if id, err := s.CheckPreferences(s.PreferencesToken("C001")); err != nil || id != "C001" {
		t.Errorf("CheckPreferences = %q %v", id, err)
	}
	// One kind of link never passes as the other.
	if _, err := s.CheckPreferences(s.Token("C001", customer.Email)); !errors.Is(err, unsubscribe.ErrInvalid) {
		t.Errorf("an unsubscribe token opened the preference page: %v", err)
	}
	if _, err := s.Open(s.PreferencesToken("C001")); !errors.Is(err, unsubscribe.ErrInvalid) {
		t.Errorf("a preference token unsubscribed: %v", err)
	}
}
