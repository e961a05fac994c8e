package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// Preferences reads and changes what a customer hears (配信設定).
type Preferences interface {
	PreferencesOf(ctx context.Context, customerID string) (*webhooks.Preferences, error)
	SetTopics(ctx context.Context, customerID string, want map[string]bool, how customer.How, cause string) (int, error)
}

// The preference page: the topics with a box each, and what stays. No name
// or address on it: the signed link is all it knows the customer by.
var prefsPage = template.Must(template.New("").Parse(`<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>配信設定</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.8;color:#333">
<h1 style="font-size:1.3em">配信設定</h1>
{{if .Saved}}<p style="background:#eef5ea;padding:.6em 1em;border-radius:6px">設定を保存しました。ありがとうございます。</p>{{end}}
<p>お受け取りになりたいお知らせにチェックを入れて、「保存する」を押してください。メールにもLINEにも同じ設定が使われます。</p>
<form method="post"><input type="hidden" name="form" value="topics">
{{range .Topics}}<p style="margin:.8em 0"><label><input type="checkbox" name="topic" value="{{.ID}}"{{if .On}} checked{{end}}> <strong>{{.Label}}</strong></label>{{if .Note}}<br><span style="font-size:.9em;color:#777">{{.Note}}</span>{{end}}</p>
{{end}}<button type="submit" style="font-size:1em;padding:.6em 1.4em">保存する</button></form>
{{if .EmailStopped}}<p style="font-size:.9em;color:#777">現在、メールの配信は停止されています。</p>{{end}}
<p style="font-size:.9em;color:#777">ご注文に関するご連絡（ご注文へのお礼など）は、設定にかかわらずお送りします。すべてのメールを止めたいときは、メールの末尾の「配信停止」からお手続きいただけます。</p>
</body></html>`))

// preferencesRoutes serve the preference page. GET (and so HEAD) only
// shows it: link scanners fetch every link in a mail. POST, the page's
// form, changes the topics, with no login: the signed token is the proof.
func preferencesRoutes(mux *http.ServeMux, signer unsubscribe.Signer, prefs Preferences, o Options) {
	show := func(w http.ResponseWriter, r *http.Request, id string, saved bool) {
		p, err := prefs.PreferencesOf(r.Context(), id)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			render(w, http.StatusNotFound, badUnsubscribeLink)
			return
		case err != nil:
			o.Logger().ErrorContext(r.Context(), "preferences not read", "customer_id", id, "error", err)
			render(w, http.StatusInternalServerError, tryAgain)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = prefsPage.Execute(w, struct {
			*webhooks.Preferences
			Saved bool
		}{p, saved})
	}
	mux.HandleFunc("GET /preferences", func(w http.ResponseWriter, r *http.Request) {
		id, err := signer.CheckPreferences(r.URL.Query().Get("t"))
		if err != nil {
			render(w, http.StatusBadRequest, badUnsubscribeLink)
			return
		}
		show(w, r, id, false)
	})
	mux.HandleFunc("POST /preferences", func(w http.ResponseWriter, r *http.Request) {
		id, err := signer.CheckPreferences(r.URL.Query().Get("t"))
		if err != nil {
			render(w, http.StatusBadRequest, badUnsubscribeLink)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		// An empty POST (not the page's form) must not read as "stop everything".
		if err := r.ParseForm(); err != nil || r.PostForm.Get("form") != "topics" {
			render(w, http.StatusBadRequest, page{Title: "設定を保存できませんでした",
				Text: "お手数ですが、届いたメールの「配信設定」のリンクからもう一度お試しください。"})
			return
		}
		cur, err := prefs.PreferencesOf(r.Context(), id)
		if err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				render(w, http.StatusNotFound, badUnsubscribeLink)
				return
			}
			o.Logger().ErrorContext(r.Context(), "preferences not read", "customer_id", id, "error", err)
			render(w, http.StatusInternalServerError, tryAgain)
			return
		}
		checked := map[string]bool{}
		for _, t := range r.PostForm["topic"] {
			checked[t] = true
		}
		want := map[string]bool{}
		for _, t := range cur.Topics {
			want[t.ID] = checked[t.ID]
		}
		if _, err := prefs.SetTopics(r.Context(), id, want, customer.ByPreferencePage, "preference page"); err != nil {
			o.Logger().ErrorContext(r.Context(), "preferences not saved", "customer_id", id, "error", err)
			render(w, http.StatusInternalServerError, tryAgain)
			return
		}
		show(w, r, id, true)
	})
}

var tryAgain = page{Title: "ただいま処理できませんでした", Text: "恐れ入りますが、少し時間をおいてもう一度お試しください。"}
