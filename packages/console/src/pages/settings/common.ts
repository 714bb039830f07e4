import { useQuery } from '@tanstack/react-query';
import { get } from '../../api/client';
import type { Role, Team, User } from '../../api/types';

/** Lists answered either as {data: [...]} or as a bare array. */
export function items<T>(v: { data: T[] } | T[] | undefined): T[] {
  if (!v) return [];
  return Array.isArray(v) ? v : v.data;
}

export function useRoles() {
  return useQuery({ queryKey: ['roles'], queryFn: () => get<{ data: Role[] } | Role[]>('/v1/roles'), select: items<Role> });
}
export function useTeams() {
  return useQuery({ queryKey: ['teams'], queryFn: () => get<{ data: Team[] } | Team[]>('/v1/teams'), select: items<Team> });
}
export function useUsers() {
  return useQuery({ queryKey: ['users'], queryFn: () => get<{ data: User[] } | User[]>('/v1/users'), select: items<User> });
}
