import { createContext, useContext } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, isApiError } from './api.ts';
import type { User } from './types.ts';

export const ME_KEY = ['auth', 'me'] as const;

/** The session cookie is HTTP-only, so asking the server is the only way to know who is logged in. */
async function fetchMe(): Promise<User | null> {
  try {
    const { user } = await api<{ user: User }>('/auth/me', { allowUnauthorized: true });
    return user;
  } catch (error) {
    if (isApiError(error, 401)) return null;
    throw error;
  }
}

export function useMe() {
  return useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 5 * 60_000 });
}

/**
 * The logged-in user, provided by the route guard. Pages under the guard never see null: on logout or an expired
 * session the guard stops rendering them before they could.
 */
export const UserContext = createContext<User | null>(null);

export function useUser(): User {
  const user = useContext(UserContext);
  if (!user) throw new Error('useUser outside an authenticated layout');
  return user;
}
