package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/token"
)

func TestSignOpen(t *testing.T) {
	secret := []byte("s3cret")
	tok := token.Sign(secret, "a", []byte("C1\x00email"))
	if got, err := token.Open(secret, "a", tok); err != nil || string(got) != "C1\x00email" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	for name, bad := range map[string]string{
		"another label":    tok, // opened under "b" below
		"line break added": tok[:5] + "\r\n" + tok[5:],
		"no dot":           "abc",
	} {
		label := "a"
		if name == "another label" {
			label = "b"
		}
		if _, err := token.Open(secret, label, bad); err != token.ErrInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := token.Open(nil, "a", tok); err == nil {
		t.Error("opened without a secret")
	}
}

// Links already in customers' inboxes keep working: the signature is
// HMAC-SHA256(secret, label + "\x00" + base64url(payload)), as it always was.
func TestFormatIsStable(t *testing.T) {
	secret := []byte("s3cret")
	p := base64.RawURLEncoding.EncodeToString([]byte("C001\x00email"))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("daifuku-unsubscribe-v1\x00" + p))
	want := p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if got := token.Sign(secret, "daifuku-unsubscribe-v1", []byte("C001\x00email")); got != want {
		t.Errorf("token %q, want %q", got, want)
	}
}
