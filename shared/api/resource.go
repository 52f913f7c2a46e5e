package api

import (
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// entity is how the routes of one kind of entity (companies, projects,
// profiles, roles, invitation templates) name it, so that each handler
// says only what is its own (the store call) and the steps they share, the
// path id, If-Match, the ETag and the built-in's refusal, are written once.
type entity[T any] struct {
	path        string // of the collection; one is path/{param}
	param, what string // the path parameter, and the noun of its 404
	key         func(T) (id string, version int)
	// builtIn is the id of the built-in one ("" when the kind has none):
	// it reads like the others and refuses every change with fixed.
	builtIn string
	fixed   error
}

// crud are an entity's five handlers.
type crud struct{ list, create, get, patch, remove httpapi.HandlerFunc }

// routes registers them, on the collection and on one entity: reads for
// readers, changes for writers.
func (k entity[T]) routes(rt *httpapi.Router, h crud) {
	one := k.path + "/{" + k.param + "}"
	rt.Handle("GET "+k.path, httpapi.Read, h.list)
	rt.Handle("POST "+k.path, httpapi.Write, h.create)
	rt.Handle("GET "+one, httpapi.Read, h.get)
	rt.Handle("PATCH "+one, httpapi.Write, h.patch)
	rt.Handle("DELETE "+one, httpapi.Write, h.remove)
}

// url is the location of entity id.
func (k entity[T]) url(id string) string { return k.path + "/" + id }

// id reads the path's id: the built-in's, or an id.
func (k entity[T]) id(r *httpapi.Request) (string, error) {
	if id := r.Param(k.param); k.builtIn != "" && id == k.builtIn {
		return id, nil
	}
	return pathID(r, k.param, k.what)
}

// change is what a change of entity id is checked with, under the
// store's read: If-Match against the version read. The built-in one
// refuses every change.
func (k entity[T]) change(r *httpapi.Request, id string) (func(T) error, error) {
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if k.builtIn != "" && id == k.builtIn {
		return nil, k.fixed
	}
	return func(v T) error {
		_, version := k.key(v)
		return pre.Check(version)
	}, nil
}

// create answers a POST of one entity: build it from the decoded body In,
// write it with the 201 recorded, so that an Idempotency-Key replay
// answers the same.
func create[In, T any](k entity[T], r *httpapi.Request, build func(In) (T, error), write func(T, *idempotency.Record) error) (*httpapi.Response, error) {
	var in In
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	v, err := build(in)
	if err != nil {
		return nil, err
	}
	id, version := k.key(v)
	resp := httpapi.Created(k.url(id), version, v)
	if err := write(v, r.Record(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

// list answers a list route: the limit and the cursor sealed to query,
// then the page read reads.
func list[T any](d Deps, r *httpapi.Request, query string, read func(limit int, start map[string]string) (dynamo.Page[T], error)) (*httpapi.Response, error) {
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := read(limit, start)
	if err != nil {
		return nil, err
	}
	return page(d, r, query, p), nil
}

// listLed is list with the built-in lead leading the first page, which
// keeps the page's size.
func listLed[T any](d Deps, r *httpapi.Request, query string, lead T, read func(limit int, start map[string]string) (dynamo.Page[T], error)) (*httpapi.Response, error) {
	first := r.Query("cursor") == ""
	return list(d, r, query, func(limit int, start map[string]string) (dynamo.Page[T], error) {
		if first && limit > 1 {
			limit--
		}
		p, err := read(limit, start)
		if err == nil && first {
			p.Items = append([]T{lead}, p.Items...)
		}
		return p, err
	})
}

// get answers a GET of one entity, with its version as ETag.
func get[T any](k entity[T], r *httpapi.Request, read func(id string) (T, error)) (*httpapi.Response, error) {
	id, err := k.id(r)
	if err != nil {
		return nil, err
	}
	v, err := read(id)
	if err != nil {
		return nil, err
	}
	_, version := k.key(v)
	return httpapi.WithETag(httpapi.JSON(200, crmView(r, v)), version), nil
}

// patch answers a PATCH of one entity: the body P applied under the
// store's update, refused there unless If-Match names the version it
// changes (C is what Apply reports changed).
func patch[P interface{ Apply(T) (T, C, error) }, T, C any](k entity[T], r *httpapi.Request, update func(id string, apply func(T) (T, C, error)) (T, error)) (*httpapi.Response, error) {
	id, err := k.id(r)
	if err != nil {
		return nil, err
	}
	var p P
	if err := r.Decode(&p); err != nil {
		return nil, err
	}
	check, err := k.change(r, id)
	if err != nil {
		return nil, err
	}
	v, err := update(id, func(cur T) (T, C, error) {
		if err := check(cur); err != nil {
			var none C
			return cur, none, err
		}
		return p.Apply(cur)
	})
	if err != nil {
		return nil, err
	}
	_, version := k.key(v)
	return httpapi.WithETag(httpapi.JSON(200, v), version), nil
}

// remove answers a DELETE of one entity, which the store refuses unless
// If-Match names its version.
func remove[T any](k entity[T], r *httpapi.Request, del func(id string, check func(T) error) error) (*httpapi.Response, error) {
	id, err := k.id(r)
	if err != nil {
		return nil, err
	}
	check, err := k.change(r, id)
	if err != nil {
		return nil, err
	}
	if err := del(id, check); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}
