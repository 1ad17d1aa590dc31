package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// github is the provider of a GitHub Provider: OAuth 2.0 endpoints at
// p.Issuer, and its API at api.github.com (or a GitHub Enterprise
// Server's /api/v3).
func (o *OIDC) github(p Provider, origin string) *provider {
	base := strings.TrimSuffix(p.Issuer, "/")
	api := base + "/api/v3"
	if base == "https://github.com" {
		api = "https://api.github.com"
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"read:user", "user:email"}
	}
	return &provider{Provider: p, issuer: base, api: api,
		oauth: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Endpoint: oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams},
			RedirectURL: origin + "/login/" + p.Name + "/callback", Scopes: p.Scopes},
	}
}

// maxAPIBytes bounds an answer of GitHub's API.
const maxAPIBytes = 1 << 20

// githubIdentity reads the account of tok from GitHub's API: the user
// (id, login) and its emails (the primary one, if verified).
func (o *OIDC) githubIdentity(ctx context.Context, p *provider, tok *oauth2.Token) (*identity, error) {
	var user struct {
		ID    *int64 `json:"id"`
		Login string `json:"login"`
	}
	if err := o.githubGet(ctx, p, tok, "/user", &user); err != nil {
		return nil, err
	}
	if user.ID == nil || *user.ID <= 0 {
		return nil, fmt.Errorf("%w: GitHub's user has no id", ErrInvalidIDToken)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := o.githubGet(ctx, p, tok, "/user/emails", &emails); err != nil {
		return nil, err
	}
	id := &identity{Issuer: p.issuer, Subject: strconv.FormatInt(*user.ID, 10), Username: user.Login}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	return id, nil
}

// githubGet reads path of GitHub's API into v.
func (o *OIDC) githubGet(ctx context.Context, p *provider, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.api+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GitHub's API: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBytes+1))
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return fmt.Errorf("%w: GitHub's API: %w", ErrProviderUnavailable, err)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: GitHub's API answered %s for %s", ErrProviderRefused, resp.Status, path)
	case resp.StatusCode != http.StatusOK || len(body) > maxAPIBytes || (ct != "application/json" && ct != "application/vnd.github+json"):
		return fmt.Errorf("%w: GitHub's API answered %s (%s) for %s", ErrProviderUnavailable, resp.Status, ct, path)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GitHub's API: %w", ErrProviderUnavailable, err)
	}
	return nil
}
