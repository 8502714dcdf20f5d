package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vigilhq/vigil/internal/route"
)

// GRPCServerOptions returns the interceptors that require scope on every
// call of a gRPC server (OTLP/gRPC: route.Ingest). The token comes in the
// "authorization" metadata, as OTLP exporters send their headers:
// "Bearer <token>" or "Basic base64(user:<token>)". With authentication
// off it returns nil.
func (a *Auth) GRPCServerOptions(scope route.Scope) []grpc.ServerOption {
	if a.opts.Disabled {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, err := a.checkGRPC(ctx, scope)
			if err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if _, err := a.checkGRPC(ss.Context(), scope); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

func (a *Auth) checkGRPC(ctx context.Context, scope route.Scope) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var p *Principal
	if v := md.Get("authorization"); len(v) == 1 {
		if tok, via, ok := parseAuthorization(v[0]); ok {
			p = a.tokenPrincipal(tok, "grpc-"+via)
		}
	}
	if p == nil {
		a.denied.WithLabelValues("unauthenticated").Inc()
		return ctx, status.Error(codes.Unauthenticated, "authentication required: send an API token in the authorization metadata (\"Bearer <token>\")")
	}
	if !p.Scopes.Has(scope) {
		a.denied.WithLabelValues("forbidden").Inc()
		return ctx, status.Errorf(codes.PermissionDenied, "this service needs the %q scope; the token has %s", scope, describeScopes(p.Scopes))
	}
	if e := p.token; e != nil {
		e.uses.Add(1)
		if b := uint32(bitOf(scope)); e.used.Load()&b == 0 {
			e.used.Or(b)
		}
	}
	return context.WithValue(ctx, ctxKey{}, p), nil
}
