package identity

import (
	"context"
)

const sqlGetUserByID = `SELECT ` + userColumns + userFrom + `WHERE u.id = $1`

// UserByID returns the user with id; ErrNotFound when there is none.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return ReadUser(ctx, s.pool, id)
}

// ManagerScope returns the managers whose customers u sees as a manager: their
// own and those of the managers they lead. None when u is not a manager.
func (s *Store) ManagerScope(ctx context.Context, u User) ([]int64, error) {
	p, err := s.principal(ctx, u, 0)
	if err != nil {
		return nil, err
	}
	return p.ManagerIDs, nil
}
