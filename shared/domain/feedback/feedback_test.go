package feedback_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
)

func TestPostbackRoundTrip(t *testing.T) {
	key := message.NewKey(message.Feedback, "C-0001", "plan:new:feedback:2026-12-14")
	for _, p := range []feedback.Postback{
		feedback.RatingPostback(key, 5), feedback.ConsentPostback(key, true), feedback.ConsentPostback(key, false),
		{Type: feedback.Answer, Question: "next", Value: "tea", Message: key},
	} {
		data := p.Data()
		if len(data) > 300 {
			t.Errorf("%q: %d bytes, LINE takes 300", data, len(data))
		}
		got, err := feedback.ParsePostback(data)
		if err != nil || got.Type != p.Type || got.Value != p.Value || got.Message != key || got.Rating != p.Rating {
			t.Errorf("%q → %+v, %v; want %+v", data, got, err, p)
		}
	}
}

func TestBadPostbacks(t *testing.T) {
	for _, data := range []string{"fb=rating&v=6", "fb=rating&v=0", "fb=rating&v=x", "fb=consent&v=maybe", "fb=answer&v=x", "fb=poll&v=1",
		"fb=rating&v=5&m=" + strings.Repeat("x", 300)} {
		if _, err := feedback.ParsePostback(data); err == nil || err == feedback.ErrNotOurs {
			t.Errorf("%q: %v; want a clear error", data, err)
		}
	}
	for _, data := range []string{"action=buyItem&itemId=123123&color=red", "", "%zz"} {
		if _, err := feedback.ParsePostback(data); err != feedback.ErrNotOurs {
			t.Errorf("%q: %v; want ErrNotOurs", data, err)
		}
	}
}

func TestProfileNamesNoOne(t *testing.T) {
	at := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	c := &customer.Customer{ID: "C1", Name: "佐藤 花子", Email: "hanako@example.jp", Birthday: "1990-12-01", Gender: customer.Female}
	if got := feedback.Profile(c, "リピーター", at); got != "30代・女性・リピーター" {
		t.Errorf("profile %q", got)
	}
	if got := feedback.Profile(&customer.Customer{Birthday: "--03-14"}, "", at); got != "お客様" {
		t.Errorf("profile without facts %q", got)
	}
	if got := feedback.AgeBand("2000-11-23", at); got != "20代" {
		t.Errorf("26th birthday today: %q", got)
	}
	if got := feedback.AgeBand("2000-11-24", at); got != "20代" {
		t.Errorf("day before 26th birthday: %q", got)
	}
	if got := feedback.AgeBand("2017-01-01", at); got != "" {
		t.Errorf("a child: %q", got)
	}
}

func TestConsentNeedsAComment(t *testing.T) {
	f := feedback.Feedback{Type: feedback.Rating, Rating: 5}
	f.SetTestimonial(true)
	if f.Voice != "" {
		t.Error("a bare rating became publishable")
	}
	f = feedback.Feedback{Type: feedback.Comment, Text: "良かった"}
	f.SetTestimonial(true)
	if f.Voice != feedback.Publishable {
		t.Error("a consented comment is not publishable")
	}
	f.SetTestimonial(false)
	if f.Voice != "" || f.Testimonial != "no" {
		t.Error("withdrawn consent left it publishable")
	}
}

func TestStripQuoted(t *testing.T) {
	for in, want := range map[string]string{
		"ありがとう！\r\n\r\nOn Mon, 23 Nov 2026 at 10:00, Shop <a@b.c> wrote:\r\n> hi": "ありがとう！",
		"届きました。\n\n2026年11月23日(月) 10:00 こもれび <a@b.c>:\n> ご注文ありがとうございます":           "届きました。",
		"> quoted\nmine\n-----Original Message-----\nFrom: x":                     "mine",
		"  just text  ": "just text",
	} {
		if got := feedback.StripQuoted(in); got != want {
			t.Errorf("StripQuoted(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExportFormats(t *testing.T) {
	ts := []feedback.Testimonial{
		{ID: "f2", Text: "毎朝使っています。\n手になじみます。", Rating: 5, Profile: "30代・女性・リピーター", At: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{ID: "f1", Text: `箱も "かわいい", です`, Profile: "お客様", At: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
	}
	var md bytes.Buffer
	if err := feedback.WriteMarkdown(&md, "こもれび", ts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# こもれび お客様の声", "> 毎朝使っています。\n> 手になじみます。", "— ★★★★★ 30代・女性・リピーター（2026年11月）"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Index(md.String(), "毎朝") > strings.Index(md.String(), "箱も") {
		t.Error("markdown is not newest first")
	}
	var b bytes.Buffer
	if err := feedback.WriteCSV(&b, ts); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 3 || rows[2][4] != `箱も "かわいい", です` || rows[1][3] != "5" {
		t.Errorf("csv %q %v", rows, err)
	}
}

func FuzzParsePostback(f *testing.F) {
	f.Add("fb=rating&v=5&m=feedback%7CC1%7Cx")
	f.Add("action=buyItem&itemId=123123&color=red")
	f.Add("fb=consent&v=yes")
	f.Fuzz(func(t *testing.T, data string) {
		p, err := feedback.ParsePostback(data)
		if err != nil {
			return
		}
		if p.Type == feedback.Rating && (p.Rating < 1 || p.Rating > 5) {
			t.Fatalf("%q: rating %d accepted", data, p.Rating)
		}
		again, err := feedback.ParsePostback(p.Data())
		if err != nil || again.Type != p.Type || again.Value != p.Value || again.Message != p.Message {
			t.Fatalf("%q: round trip %+v → %+v, %v", data, p, again, err)
		}
	})
}

func FuzzStripQuoted(f *testing.F) {
	f.Add("ありがとう\n\nOn Mon wrote:\n> x")
	f.Add("> a\r\nb")
	f.Fuzz(func(t *testing.T, text string) {
		out := feedback.StripQuoted(text)
		if len(out) > len(text) {
			t.Fatalf("grew: %q → %q", text, out)
		}
	})
}

func TestLinkTokens(t *testing.T) {
	s := feedback.LinkSigner{Secret: []byte("s3cret")}
	key := message.NewKey(message.Feedback, "C1", "plan:new:feedback:2026-11-23")
	got, err := s.Check(s.Token(key))
	if err != nil || got != key {
		t.Fatalf("round trip: %q %v", got, err)
	}
	other := feedback.LinkSigner{Secret: []byte("other")}
	if _, err := other.Check(s.Token(key)); err != feedback.ErrInvalidLink {
		t.Errorf("another secret's token: %v", err)
	}
}

func TestAnswerTokens(t *testing.T) {
	s := feedback.LinkSigner{Secret: []byte("s3cret")}
	key := message.NewKey(message.Lapsed, "C1", "plan:royal:lapsed:note:2026-11-23")
	got, err := s.CheckAnswer(s.AnswerToken(key, "why-stopped", "price"))
	if err != nil || got != feedback.AnswerPostback(key, "why-stopped", "price") {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := s.Check(s.AnswerToken(key, "why-stopped", "price")); err == nil {
		t.Error("an answer token opens the rating form")
	}
	if _, err := s.CheckAnswer(s.Token(key)); err == nil {
		t.Error("a rating token gives an answer")
	}
	tampered := s.AnswerToken(key, "why-stopped", "price")
	tampered = tampered[:len(tampered)-2] + "xx"
	if _, err := s.CheckAnswer(tampered); err != feedback.ErrInvalidLink {
		t.Errorf("a tampered token: %v", err)
	}
}

func TestQuestionsAreChecked(t *testing.T) {
	src, err := os.ReadFile("../../../templates/feedback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := feedback.ParseScript("feedback.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if q := s.Questions["why-stopped"]; len(q.Choices) < 2 || q.Ask == "" {
		t.Fatalf("why-stopped = %+v", q)
	}
	good := string(src)
	for name, bad := range map[string]struct{ from, to, want string }{
		"a choice of 21 characters": {"label: 価格が合わなくなった", "label: 価格が合わなくなった価格が合わなくなった価格が", "1 to 20 characters"},
		"a value twice":             {"value: price", "value: enough", `"enough" given twice`},
		"a value with capitals":     {"value: price", "value: Price", `choice value "Price"`},
		"no thanks":                 {"    thanks: 教えて", "    thanks: ''\n    # 教えて", "ask and thanks are required"},
		"one choice":                {"      - {value: price, label: 価格が合わなくなった}\n      - {value: taste, label: 好みの品が見つからない}\n      - {value: elsewhere, label: ほかのお店で買っている}\n      - {value: busy, label: 忙しくて見られていない}\n      - {value: other, label: その他}\n", "", "want 2 to 13"},
	} {
		_, err := feedback.ParseScript("feedback.yaml", []byte(strings.Replace(good, bad.from, bad.to, 1)))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want …%s…", name, err, bad.want)
		}
	}
}

func FuzzLinkCheck(f *testing.F) {
	s := feedback.LinkSigner{Secret: []byte("s3cret")}
	f.Add(s.Token("feedback|C1|x"))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, token string) {
		key, err := s.Check(token)
		if err == nil && s.Token(key) != token {
			t.Fatalf("%q accepted but is not the token of %q", token, key)
		}
	})
}
