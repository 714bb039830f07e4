import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { ApiError, api, setCsrfToken, UNAUTHORIZED_EVENT } from '../api/client';
import type { Me, Permission, Session } from '../api/types';
import i18n, { setLocale } from '../i18n';

export interface LoginBody {
  email: string;
  password: string;
  totpCode?: string;
  recoveryCode?: string;
}

interface AuthValue {
  me: Me | null;
  loading: boolean;
  login(body: LoginBody): Promise<Me>;
  logout(): Promise<void>;
  refresh(): Promise<void>;
  can(permission: Permission): boolean;
}

const AuthContext = createContext<AuthValue | null>(null);
const ME_KEY = ['auth', 'me'] as const;

async function fetchMe(): Promise<Me | null> {
  try {
    const s = await api<Session>('GET', '/v1/auth/me', { quiet401: true });
    setCsrfToken(s.csrfToken);
    return s.user;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) return null;
    throw e;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const me = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, retry: false, staleTime: 60_000 });

  useEffect(() => {
    const onUnauthorized = () => {
      setCsrfToken(null);
      qc.setQueryData(ME_KEY, null);
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [qc]);

  const login = useCallback(
    async (body: LoginBody) => {
      const s = await api<Session>('POST', '/v1/auth/login', { body, quiet401: true });
      setCsrfToken(s.csrfToken);
      qc.setQueryData(ME_KEY, s.user);
      if (s.user.locale && s.user.locale !== i18n.language) void setLocale(s.user.locale);
      return s.user;
    },
    [qc],
  );
  const logout = useCallback(async () => {
    try {
      await api<void>('POST', '/v1/auth/logout', { quiet401: true });
    } finally {
      setCsrfToken(null);
      // Signed out first, on the query the provider observes (clear() first would drop it, and for a
      // moment the sign-in page saw the old user and sent them back in); then everything they saw goes.
      qc.setQueryData(ME_KEY, null);
      qc.removeQueries({ predicate: (q) => !(q.queryKey[0] === ME_KEY[0] && q.queryKey[1] === ME_KEY[1]) });
    }
  }, [qc]);
  const refresh = useCallback(async () => {
    await qc.invalidateQueries({ queryKey: ME_KEY });
  }, [qc]);

  const user = me.data ?? null;
  const value = useMemo<AuthValue>(
    () => ({
      me: user,
      loading: me.isPending,
      login,
      logout,
      refresh,
      can: (p) => !!user && (user.role.permissions.includes(p) || user.role.permissions.includes('*')),
    }),
    [user, me.isPending, login, logout, refresh],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
